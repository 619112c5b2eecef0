#include "daemon_launch.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <set>
#include <stdexcept>

#include "temp_dir.hpp"

namespace iot::test {

namespace {

// Core dumps on and the working directory moved for the next fork, both
// restored on scope exit (the child inherits them at fork).
class CoreDumpWindow {
public:
    explicit CoreDumpWindow(const std::filesystem::path& dir) : old_cwd_(std::filesystem::current_path()) {
        if (::getrlimit(RLIMIT_CORE, &old_limit_) != 0) throw std::runtime_error("getrlimit(RLIMIT_CORE) failed");
        rlimit unlimited = old_limit_;
        unlimited.rlim_cur = old_limit_.rlim_max;
        if (::setrlimit(RLIMIT_CORE, &unlimited) != 0) {
            throw std::runtime_error(std::string("setrlimit(RLIMIT_CORE): ") + std::strerror(errno));
        }
        std::filesystem::current_path(dir);
    }
    ~CoreDumpWindow() {
        std::error_code ignored;
        std::filesystem::current_path(old_cwd_, ignored);
        (void)::setrlimit(RLIMIT_CORE, &old_limit_);
    }
    CoreDumpWindow(const CoreDumpWindow&) = delete;
    CoreDumpWindow& operator=(const CoreDumpWindow&) = delete;

private:
    std::filesystem::path old_cwd_;
    rlimit old_limit_{};
};

}  // namespace

bool core_dumps_land_in_cwd() {
    const auto pattern = read_file("/proc/sys/kernel/core_pattern");
    return pattern && !pattern->empty() && (*pattern)[0] != '|' && (*pattern)[0] != '/';
}

std::string stderr_identifier(const Scenario& scenario, const DaemonLaunch& launch) {
    return "iot-it-stderr-" + scenario.run_id() + "-" + launch.name;
}

std::unique_ptr<Subprocess> launch_daemon(Scenario& scenario, const DaemonLaunch& launch) {
    SpawnOptions spawn;
    spawn.program = daemon_program();
    spawn.args = {"-c", (launch.config_path.empty() ? scenario.config_path() : launch.config_path).string()};
    spawn.args.insert(spawn.args.end(), launch.extra_args.begin(), launch.extra_args.end());
    // The same clean service environment as Scenario::start_daemon.
    spawn.removed_env = {"PN_TRACE_FRM",  "PN_TRACE_RAW",          "PN_TRACE_DRV",  "PN_TRACE_EVT",
                         "PN_LOG",        "WATCHDOG_PID",          "LISTEN_FDS",    "LISTEN_PID",
                         "INVOCATION_ID", "CREDENTIALS_DIRECTORY", "JOURNAL_STREAM"};
    spawn.extra_env = {{"NOTIFY_SOCKET", scenario.notify().socket_path().string()}};
    if (launch.watchdog.count() > 0) {
        spawn.extra_env.emplace_back("WATCHDOG_USEC", std::to_string(launch.watchdog.count() * 1000));
    }
    spawn.extra_env.insert(spawn.extra_env.end(), launch.extra_env.begin(), launch.extra_env.end());
    spawn.stdout_file = scenario.dir() / (launch.name + ".out");
    if (launch.stderr_to_journal) {
        spawn.stderr_journal_identifier = stderr_identifier(scenario, launch);
    } else {
        spawn.stderr_file = scenario.dir() / (launch.name + ".err");
    }
    if (!launch.allow_core_dump) return std::make_unique<Subprocess>(spawn);
    const CoreDumpWindow window(scenario.dir().path());
    return std::make_unique<Subprocess>(spawn);
}

std::vector<JournalEntry> daemon_log_of(const std::vector<pid_t>& pids) {
    std::set<std::string> pid_texts;
    for (const auto pid : pids) pid_texts.insert(std::to_string(pid));
    if (pid_texts.empty()) return {};
    return JournalReader::read_all({{"SYSLOG_IDENTIFIER", {"iot-amqpd"}}, {"_PID", pid_texts}});
}

::testing::AssertionResult wait_ready_since(Scenario& scenario, Subprocess& daemon,
                                            std::chrono::steady_clock::time_point since,
                                            std::chrono::milliseconds timeout) {
    auto result = scenario.notify().wait_for_since("READY=1", since, timeout);
    if (!result && !daemon.running()) result << "\nthe daemon exited: " << daemon.exit_status()->to_string();
    return result;
}

::testing::AssertionResult reload_daemon(Scenario& scenario, Subprocess& daemon, std::chrono::milliseconds timeout) {
    const auto before = std::chrono::steady_clock::now();
    if (!daemon.signal(SIGHUP)) return ::testing::AssertionFailure() << "the daemon is not running";
    auto reloading = scenario.notify().wait_for_since("RELOADING=1", before, timeout);
    if (!reloading) return reloading;
    const auto reloading_at = scenario.notify().last_time("RELOADING=1").value_or(before);
    return scenario.notify().wait_for_since("READY=1", reloading_at, timeout);
}

}  // namespace iot::test
