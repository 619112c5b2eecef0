// iot-amqpd: receives Alibaba Cloud IoT Platform messages over AMQP 1.0 and
// writes each one to journald, acknowledging it only after journald took it.
//
// The lifecycle, step by step: parse arguments -> load and validate the
// config -> block signals (before any thread exists) -> check that the
// journal stores and reads back our entries -> start the supervisor,
// which starts one thread per consumer group and sends READY=1 -> supervise ->
// STOPPING=1 -> drain -> exit code.
#include <proton/logger.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "iot-amqpd/cloud_profile.hpp"
#include "iot-amqpd/config.hpp"
#include "iot-amqpd/errno_text.hpp"
#include "iot-amqpd/exit_codes.hpp"
#include "iot-amqpd/journal_check.hpp"
#include "iot-amqpd/logging.hpp"
#include "iot-amqpd/notifier.hpp"
#include "iot-amqpd/stopping_notice.hpp"
#include "iot-amqpd/supervisor.hpp"
#include "iot-amqpd/tls_client_options.hpp"

namespace {

using iot::kExitConfig;
using iot::kExitFailure;
using iot::kExitOk;
using iot::kExitUsage;

constexpr const char* kDefaultConfig = "/etc/iot-amqpd/iot-amqpd.yaml";
constexpr std::chrono::milliseconds kReadBackTimeout{5000};

constexpr const char* kUsage =
    "Usage: iot-amqpd [-c|--config FILE] [--check-config] [--log-level LEVEL] [--log-target TARGET]\n"
    "                 [--version] [--help]\n"
    "\n"
    "Receives Alibaba Cloud IoT Platform device messages (AMQP server-side subscription) and writes each\n"
    "one to the systemd journal, acknowledging it only after the journal took it.\n"
    "\n"
    "  -c, --config FILE    configuration file (default /etc/iot-amqpd/iot-amqpd.yaml)\n"
    "      --check-config   load and validate the configuration (secrets included), print\n"
    "                       'OK: N consumer groups' or every error, and exit (0 or 78)\n"
    "      --log-level L    trace, debug, info, warn or error (overrides log.level)\n"
    "      --log-target T   auto (journal under systemd, else stderr), journal or stderr\n"
    "      --version        print the version and exit\n"
    "      --help           print this help and exit\n"
    "\n"
    "Signals: SIGHUP reloads the configuration; SIGTERM and SIGINT stop after draining.\n"
    "Exit codes: 0 clean stop, 1 runtime failure, 2 usage error, 78 invalid configuration.\n"
    "See iot-amqpd(8).\n";

struct Options {
    std::string config_path = kDefaultConfig;
    bool check_config = false;
    std::optional<iot::LogLevel> log_level;
    iot::LogTarget log_target = iot::LogTarget::automatic;
};

std::optional<iot::LogTarget> parse_target(const std::string& text) {
    if (text == "auto") return iot::LogTarget::automatic;
    if (text == "journal") return iot::LogTarget::journal;
    if (text == "stderr") return iot::LogTarget::stderr_stream;
    return std::nullopt;
}

[[noreturn]] void usage_error(const std::string& message) {
    (void)std::fprintf(stderr, "iot-amqpd: %s\n%s", message.c_str(), kUsage);
    std::exit(kExitUsage);  // NOLINT(concurrency-mt-unsafe): argument parsing runs before any thread
}

// Step 1: arguments. Exits for --help, --version and usage errors.
Options parse_arguments(int argc, char** argv) {
    Options options;
    const std::vector<std::string> args(argv + 1, argv + argc);
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= args.size()) usage_error(arg + " needs a value");
            return args[++i];
        };
        if (arg == "-c" || arg == "--config") {
            options.config_path = value();
        } else if (arg.rfind("--config=", 0) == 0) {
            options.config_path = arg.substr(9);
        } else if (arg == "--check-config") {
            options.check_config = true;
        } else if (arg == "--log-level") {
            const std::string text = value();
            options.log_level = iot::parse_log_level(text);  // case-insensitive, as log.level is
            if (!options.log_level) usage_error("unknown log level '" + text + "'");
        } else if (arg == "--log-target") {
            const std::string text = value();
            auto target = parse_target(text);
            if (!target) usage_error("unknown log target '" + text + "'");
            options.log_target = *target;
        } else if (arg == "--version") {
            (void)std::printf("iot-amqpd %s\n", IOT_AMQPD_VERSION);
            std::exit(kExitOk);  // NOLINT(concurrency-mt-unsafe): no thread exists yet
        } else if (arg == "--help" || arg == "-h") {
            (void)std::fputs(kUsage, stdout);
            std::exit(kExitOk);  // NOLINT(concurrency-mt-unsafe): no thread exists yet
        } else {
            usage_error("unknown argument '" + arg + "'");
        }
    }
    return options;
}

// proton prints the SASL password in clear with frame tracing on: never run with it.
// Runs before any thread exists, so touching the environment is safe.
void refuse_protocol_tracing() {
    bool refused = false;
    for (const char* name : {"PN_TRACE_FRM", "PN_TRACE_RAW", "PN_TRACE_DRV", "PN_LOG"}) {
        if (std::getenv(name) == nullptr) continue;  // NOLINT(concurrency-mt-unsafe): single-threaded here
        (void)::unsetenv(name);                      // NOLINT(concurrency-mt-unsafe): single-threaded here
        refused = true;
        iot::log_event(spdlog::level::warn, iot::LogContext{"trace_refused", ""},
                       "{} is set; ignoring it because proton's protocol trace prints the SASL password", name);
    }
    // proton's default logger read these variables when the library was
    // loaded, before main(): unsetting them alone leaves frame tracing on.
    if (refused) pn_logger_reset_mask(pn_default_logger(), PN_SUBSYSTEM_ALL, PN_LEVEL_ALL);
}

// A core dump would hold the AccessKey secret and the SASL password in clear
// (DESIGN.md §7: no secret in any core of ours). Like ssh-agent, the daemon
// is not dumpable: the kernel writes no core for it, and only root may
// ptrace it.
void refuse_core_dumps() { (void)::prctl(PR_SET_DUMPABLE, 0); }

// Step 3: signals are read from a signalfd by the supervisor, never handled
// asynchronously; they must be blocked before any thread exists.
int block_signals() {
    (void)::signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    if (pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) return -1;
    return ::signalfd(-1, &set, SFD_CLOEXEC);
}

// Writes one entry and reads it back. "" when the daemon may go on (the
// journal works, or journald is absent or not storing for now: then groups
// hold their messages until it does), else why it never could.
std::string check_read_back() {
    const iot::ReadBackCheck check = iot::check_journal_read_back(kReadBackTimeout);
    using Verdict = iot::ReadBackCheck::Verdict;
    switch (check.verdict) {
        case Verdict::works:
            iot::log_event(spdlog::level::debug, iot::LogContext{"journal_checked", ""},
                           "the journal stores and reads back our entries ({} ms)", check.elapsed.count());
            return {};
        case Verdict::no_journald:
        case Verdict::not_storing:
            iot::log_event(spdlog::level::warn, iot::LogContext{"journal_not_ready", ""}, "journal read-back check: {}",
                           check.explanation);
            return {};
        case Verdict::unreadable:
        case Verdict::no_journal: break;
    }
    return check.explanation;
}

int check_config_only(const iot::LoadResult& loaded) {
    for (const auto& warning : loaded.warnings) (void)std::fprintf(stderr, "warning: %s\n", warning.c_str());
    if (!loaded.ok()) {
        for (const auto& error : loaded.errors) (void)std::fprintf(stderr, "%s\n", error.to_string().c_str());
        return kExitConfig;
    }
    (void)std::printf("OK: %zu consumer groups\n", loaded.config->groups.size());
    return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
    refuse_core_dumps();
    const Options options = parse_arguments(argc, argv);
    iot::logging::init(options.log_target, options.log_level.value_or(iot::LogLevel::info));
    refuse_protocol_tracing();
    iot::take_over_default_trust();  // changes the environment: before any thread

    // Step 2: the same loader serves start-up, --check-config and reload.
    const iot::LoadResult loaded = iot::load_config(options.config_path, iot::LoadEnvironment::from_process());
    if (options.check_config) return check_config_only(loaded);
    for (const auto& warning : loaded.warnings)
        iot::log_event(spdlog::level::warn, iot::LogContext{"config_warning", ""}, "{}", warning);
    iot::SdNotifier notifier;
    iot::StoppingNotice stopping(notifier);  // STOPPING=1 on every path out from here
    if (!loaded.ok()) {
        for (const auto& error : loaded.errors)
            iot::log_event(spdlog::level::err, iot::LogContext{"config_invalid", ""}, "{}", error.to_string());
        stopping.send("invalid configuration: " +
                      (loaded.errors.empty() ? std::string("unknown error") : loaded.errors.front().to_string()));
        return kExitConfig;
    }
    if (!options.log_level) iot::logging::set_level(loaded.config->log_level);

    const int signal_fd = block_signals();
    if (signal_fd < 0) {
        iot::log_event(spdlog::level::critical, iot::LogContext{"startup_failed", ""}, "cannot block signals: {}",
                       iot::errno_text(errno));
        stopping.send("failed: cannot block signals");
        return kExitFailure;
    }

    // Step 4: "acknowledged means stored" needs the journal read back.
    if (loaded.config->output.type == iot::OutputType::journald) {
        std::string fatal;
        try {
            fatal = check_read_back();
        } catch (const std::exception& e) {
            fatal = e.what();
        }
        if (!fatal.empty()) {
            iot::log_event(spdlog::level::critical, iot::LogContext{"journal_unreadable", ""}, "{}", fatal);
            stopping.send("failed: " + fatal);
            ::close(signal_fd);
            return kExitFailure;
        }
    }

    // Steps 5-7: supervise until SIGTERM/SIGINT; the supervisor sends STOPPING=1 as it begins to drain.
    int code = kExitFailure;
    try {
        iot::Supervisor supervisor(options.config_path, iot::LoadEnvironment::from_process(), loaded.config, notifier,
                                   stopping, options.log_level);
        code = supervisor.run(signal_fd);
    } catch (const std::exception& e) {
        iot::log_event(spdlog::level::critical, iot::LogContext{"fatal", ""}, "fatal: {}", e.what());
        stopping.send("failed: " + std::string(e.what()));
        code = kExitFailure;
    }
    stopping.send(code == kExitOk ? "stopped" : "failed");  // (sent already on every path that knew why)
    ::close(signal_fd);
    iot::log_event(spdlog::level::info, iot::LogContext{"stopped", ""}, "stopped (exit code {})", code);
    spdlog::shutdown();
    // A group thread still blocked in a write (abandoned after the stop time-out)
    // must not keep the process alive or run static destructors under it.
    if (code != kExitOk) std::_Exit(code);
    return code;
}
