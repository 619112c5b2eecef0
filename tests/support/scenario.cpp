#include "scenario.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>

#include "iot-amqpd/secret.hpp"
#include "iot-amqpd/signer.hpp"
#include "journald.hpp"
#include "test_certs.hpp"
#include "wait_until.hpp"

namespace iot::test {

namespace {

using namespace std::chrono_literals;

constexpr const char* kDaemonIdentifier = "iot-amqpd";
constexpr std::size_t kDiagnosticLines = 150;

std::string random_hex(std::size_t length) {
    static std::mutex mutex;
    static std::mt19937_64 engine{std::random_device{}()};
    const std::lock_guard lock(mutex);
    static const char* digits = "0123456789abcdef";
    std::string text;
    for (std::size_t i = 0; i < length; ++i) text += digits[engine() % 16];
    return text;
}

std::int64_t int_or_zero(const emu::Json& value) { return value.is_number() ? value.as_int() : 0; }

std::string tail_lines(const std::string& text, std::size_t lines) {
    std::size_t position = text.size();
    std::size_t seen = 0;
    while (position > 0 && seen <= lines) {
        position = text.rfind('\n', position - 1);
        if (position == std::string::npos) return text;
        ++seen;
    }
    return seen > lines ? "  ...\n" + text.substr(position + 1) : text;
}

std::string describe_entry(const JournalEntry& entry) {
    std::string line;
    const auto time = field_or_empty(entry, "__REALTIME_TIMESTAMP");
    if (time.size() > 6) {
        const auto micros = std::stoll(time);
        char stamp[32];
        std::snprintf(stamp, sizeof stamp, "%02lld:%02lld.%03lld", (micros / 60'000'000) % 60,
                      (micros / 1'000'000) % 60, (micros / 1000) % 1000);
        line += stamp;
    }
    line += " p" + field_or_empty(entry, "PRIORITY");
    if (entry.count("IOT_EVENT") != 0) line += " event=" + field_or_empty(entry, "IOT_EVENT");
    if (entry.count("IOT_CONSUMER_GROUP") != 0) line += " [" + field_or_empty(entry, "IOT_CONSUMER_GROUP") + "]";
    line += " " + field_or_empty(entry, "MESSAGE");
    return line;
}

}  // namespace

std::filesystem::path daemon_program() { return std::filesystem::path(IOT_BINARY_DIR) / "iot-amqpd"; }
std::filesystem::path emulator_program() { return std::filesystem::path(IOT_BINARY_DIR) / "iot-amqpd-emulator"; }

std::string GroupCounters::summary() const {
    std::ostringstream out;
    out << "published=" << published << " delivered=" << delivered << " accepted=" << accepted
        << " redelivered=" << redelivered << " in_flight=" << in_flight << " queued=" << queued
        << " released=" << released << " ack_timeouts=" << ack_timeouts << " requeued_on_loss=" << requeued_on_loss
        << " connections=" << connections << " connections_total=" << connections_total << " auth_ok=" << auth_ok
        << " auth_failures=" << auth_failures << " refused=" << refused_attempts
        << " stale_timestamps=" << stale_timestamps;
    return out.str();
}

Scenario::Scenario(ScenarioOptions options)
    : options_(std::move(options)),
      dir_("iot-it"),
      run_id_(random_hex(8)),
      wall_start_(std::chrono::system_clock::now()) {
    journald::ensure_running();
    cert_dir_ = test_certs().dir;  // made once per test process: key generation is the slow part

    access_key_id_ = "LTAI5tIT" + random_hex(8);
    iotda_access_key_ = "HW" + random_hex(6);  // the cloud's keys are 8 characters
    secret_path_ = dir_ / "access-key-secret";
    write_secret("it-secret-" + random_hex(24));
    secret_ = all_secrets_.back();
    config_path_ = dir_ / "iot-amqpd.yaml";

    start_emulator();

    config_.endpoint = "amqps://localhost:" + std::to_string(port_);
    config_.access_key_id = access_key_id_;
    config_.access_key_secret_file = secret_path_.string();
    config_.ca_file = (cert_dir_ / "ca.pem").string();
    config_.client_id = "it-" + run_id_ + "-%g";
    config_.syslog_identifier = "iot-it-" + run_id_;

    notify_ = std::make_unique<NotifyListener>(dir_ / "notify.sock");
    messages_ = std::make_unique<JournalReader>(by_identifier(config_.syslog_identifier));
}

Scenario::~Scenario() {
    for (auto& daemon : daemons_) {
        if (daemon->running()) {
            daemon->signal(SIGTERM);
            daemon->wait_or_kill(10s);
        }
    }
    if (::testing::Test::HasFailure()) {
        dir_.keep();  // the daemon's stdout, the emulator's log and the config, for a post-mortem
        std::fprintf(stderr, "\n===== scenario %s diagnostics =====\n%s===== end of diagnostics =====\n\n",
                     run_id_.c_str(), diagnostics().c_str());
    }
    control_.reset();
    if (emulator_ && emulator_->running()) {
        emulator_->signal(SIGTERM);
        emulator_->wait_or_kill(10s);
    }
}

void Scenario::start_emulator() {
    std::string accounts = "consumer_groups: [";
    for (std::size_t i = 0; i < options_.consumer_group_ids.size(); ++i) {
        accounts += (i == 0 ? "" : ", ") + yaml_quote(options_.consumer_group_ids[i]);
    }
    accounts += "]\naccounts:\n  - access_key_id: " + yaml_quote(access_key_id_) +
                "\n    access_key_secret: " + yaml_quote(secret_) + "\n    consumer_groups: [";
    for (std::size_t i = 0; i < options_.consumer_group_ids.size(); ++i) {
        accounts += (i == 0 ? "" : ", ") + yaml_quote(options_.consumer_group_ids[i]);
    }
    accounts += "]\n";
    if (!options_.security_tokens.empty()) {
        accounts += "    security_tokens: [";
        for (std::size_t i = 0; i < options_.security_tokens.size(); ++i)
            accounts += (i == 0 ? "" : ", ") + yaml_quote(options_.security_tokens[i]);
        accounts += "]\n";
    }
    if (!options_.iotda_queues.empty()) {
        accounts += "iotda:\n  instance_id: " + yaml_quote(options_.iotda_instance_id) +
                    "\n  access_keys:\n    - access_key: " + yaml_quote(iotda_access_key_) +
                    "\n      access_code: " + yaml_quote(secret_) + "\n  queues: [";
        for (std::size_t i = 0; i < options_.iotda_queues.size(); ++i)
            accounts += (i == 0 ? "" : ", ") + yaml_quote(options_.iotda_queues[i]);
        accounts += "]\n";
    }
    write_file(dir_ / "accounts.yaml", accounts);

    SpawnOptions spawn;
    spawn.program = emulator_program();
    spawn.args = {"--listen",    "127.0.0.1:0",
                  "--cert",      (cert_dir_ / (options_.server_cert + ".pem")).string(),
                  "--key",       (cert_dir_ / (options_.server_cert + ".key")).string(),
                  "--accounts",  (dir_ / "accounts.yaml").string(),
                  "--control",   (dir_ / "ctl.sock").string(),
                  "--port-file", (dir_ / "emulator.port").string()};
    if (options_.strict_emulator) spawn.args.emplace_back("--strict");
    spawn.args.insert(spawn.args.end(), options_.emulator_args.begin(), options_.emulator_args.end());
    spawn.removed_env = {"PN_TRACE_FRM", "PN_TRACE_RAW", "PN_TRACE_DRV", "PN_TRACE_EVT"};
    spawn.stdout_file = dir_ / "emulator.out";
    spawn.stderr_file = dir_ / "emulator.err";
    emulator_ = std::make_unique<Subprocess>(spawn);

    const bool up = static_cast<bool>(wait_until(
        "the emulator's port file",
        [&] { return read_file(dir_ / "emulator.port").has_value() || !emulator_->running(); }, 15s));
    const auto port_text = read_file(dir_ / "emulator.port");
    if (!up || !port_text) {
        throw std::runtime_error("the emulator did not start: " +
                                 (emulator_->exit_status() ? emulator_->exit_status()->to_string() : "no port file") +
                                 "\n" + tail_lines(emulator_->stderr_text(), 30));
    }
    port_ = static_cast<std::uint16_t>(std::stoul(*port_text));
    if (!emu::ControlClient::wait_until_ready((dir_ / "ctl.sock").string(), 10s)) {
        throw std::runtime_error("the emulator's control socket did not come up");
    }
    control_ = std::make_unique<emu::ControlClient>((dir_ / "ctl.sock").string(), 60s);
}

emu::Json Scenario::emulator(std::string_view command) { return control_->call(command); }

emu::Json Scenario::publish(const std::string& consumer_group_id, std::size_t count, const std::string& id_prefix,
                            const std::string& extra) {
    std::string command =
        "publish group=" + consumer_group_id + " count=" + std::to_string(count) + " id_prefix=" + id_prefix;
    if (!extra.empty()) command += " " + extra;
    return emulator(command);
}

emu::Json Scenario::publish_queue(const std::string& queue, std::size_t count, const std::string& id_prefix,
                                  const std::string& extra) {
    std::string command = "publish queue=" + queue + " count=" + std::to_string(count) + " id_prefix=" + id_prefix;
    if (!extra.empty()) command += " " + extra;
    return emulator(command);
}

GroupCounters Scenario::counters(const std::string& consumer_group_id) {
    return counters_of(emulator("stats")["groups"][consumer_group_id]);
}

GroupCounters Scenario::queue_counters(const std::string& queue) {
    return counters_of(emulator("stats")["queues"][queue]);
}

GroupCounters Scenario::counters_of(const emu::Json& group) {
    GroupCounters counters;
    const std::pair<const char*, std::int64_t*> fields[] = {
        {"published", &counters.published},
        {"delivered", &counters.delivered},
        {"accepted", &counters.accepted},
        {"redelivered", &counters.redelivered},
        {"in_flight", &counters.in_flight},
        {"max_link_credit", &counters.max_link_credit},
        {"queued", &counters.queued},
        {"released", &counters.released},
        {"rejected", &counters.rejected},
        {"modified", &counters.modified},
        {"ack_timeouts", &counters.ack_timeouts},
        {"requeued_on_loss", &counters.requeued_on_loss},
        {"connections", &counters.connections},
        {"connections_total", &counters.connections_total},
        {"links", &counters.links},
        {"auth_ok", &counters.auth_ok},
        {"auth_failures", &counters.auth_failures},
        {"refused_attempts", &counters.refused_attempts},
        {"stale_timestamps", &counters.stale_timestamps},
        {"closes_with_link_attached", &counters.closes_with_link_attached},
    };
    for (const auto& [name, target] : fields) *target = int_or_zero(group[name]);
    if (group["clients"].is_object()) {
        for (const auto& [client_id, client] : group["clients"].as_object()) {
            counters.client_connections_total[client_id] = int_or_zero(client["connections_total"]);
            counters.client_stale_timestamps[client_id] = int_or_zero(client["stale_timestamps"]);
        }
    }
    return counters;
}

::testing::AssertionResult Scenario::wait_all_accepted(const std::vector<std::string>& consumer_group_ids,
                                                       std::chrono::milliseconds timeout) {
    std::string last;
    auto result = wait_until(
        "every published message accepted",
        [&] {
            last.clear();
            bool done = true;
            for (const auto& id : consumer_group_ids) {
                const auto c = counters(id);
                last += "\n  " + id + ": " + c.summary();
                done = done && c.published > 0 && c.accepted >= c.published && c.in_flight == 0 && c.queued == 0;
            }
            return done;
        },
        timeout, 200ms);
    if (!result) result << "; emulator counters:" << last;
    return result;
}

::testing::AssertionResult Scenario::wait_for_links(const std::string& consumer_group_id, std::int64_t links,
                                                    std::chrono::milliseconds timeout) {
    return wait_until(
        consumer_group_id + " has " + std::to_string(links) + " receiver link(s)",
        [&] { return counters(consumer_group_id).links == links; }, timeout);
}

void Scenario::write_config() {
    write_file(config_path_, config_.to_yaml());
    config_written_ = true;
}

void Scenario::write_config_text(std::string_view yaml) {
    write_file(config_path_, yaml);
    config_written_ = true;
}

void Scenario::write_secret(const std::string& value) {
    all_secrets_.push_back(value);
    write_file(secret_path_, value);
}

Subprocess& Scenario::start_daemon(std::vector<std::string> extra_args) {
    if (!config_written_) write_config();
    SpawnOptions spawn;
    spawn.program = daemon_program();
    spawn.args = {"-c", config_path_.string()};
    spawn.args.insert(spawn.args.end(), extra_args.begin(), extra_args.end());
    spawn.extra_env = {{"NOTIFY_SOCKET", notify_->socket_path().string()}};
    if (options_.watchdog.count() > 0) {
        spawn.extra_env.emplace_back("WATCHDOG_USEC", std::to_string(options_.watchdog.count() * 1000));
    }
    // A clean service environment: no proton tracing (it prints the SASL
    // password), nothing systemd would not set.
    spawn.removed_env = {"PN_TRACE_FRM", "PN_TRACE_RAW", "PN_TRACE_DRV",  "PN_TRACE_EVT",         "WATCHDOG_PID",
                         "LISTEN_FDS",   "LISTEN_PID",   "INVOCATION_ID", "CREDENTIALS_DIRECTORY"};
    const auto index = std::to_string(daemons_.size() + 1);
    spawn.stdout_file = dir_ / ("daemon-" + index + ".out");
    // stderr is a journal stream with $JOURNAL_STREAM set, as under systemd,
    // so the daemon logs structured entries (IOT_EVENT=...).
    spawn.stderr_journal_identifier = "iot-it-stderr-" + run_id_;
    daemon_started_ = std::chrono::steady_clock::now();
    daemons_.push_back(std::make_unique<Subprocess>(spawn));
    return *daemons_.back();
}

::testing::AssertionResult Scenario::start_daemon_and_wait_ready(std::chrono::milliseconds timeout) {
    start_daemon();
    const auto started = daemon_started_;
    auto result = notify_->wait_for_since("READY=1", started, timeout);
    if (!result && !daemon()->running()) result << "\nthe daemon exited: " << daemon()->exit_status()->to_string();
    return result;
}

ExitStatus Scenario::stop_daemon(int signal_number, std::chrono::milliseconds timeout) {
    auto* current = daemon();
    if (current == nullptr) throw std::logic_error("stop_daemon: no daemon was started");
    current->signal(signal_number);
    return current->wait_or_kill(timeout);
}

::testing::AssertionResult Scenario::reload(std::chrono::milliseconds timeout) {
    const auto before = std::chrono::steady_clock::now();
    if (daemon() == nullptr || !daemon()->signal(SIGHUP)) {
        return ::testing::AssertionFailure() << "no running daemon to reload";
    }
    auto reloading = notify_->wait_for_since("RELOADING=1", before, timeout);
    if (!reloading) return reloading;
    const auto reloading_at = notify_->last_time("RELOADING=1").value_or(before);
    return notify_->wait_for_since("READY=1", reloading_at, timeout);
}

ExitStatus Scenario::check_config(std::string* output) {
    if (!config_written_) write_config();
    SpawnOptions spawn;
    spawn.program = daemon_program();
    spawn.args = {"--check-config", "-c", config_path_.string()};
    spawn.removed_env = {"NOTIFY_SOCKET", "WATCHDOG_USEC", "JOURNAL_STREAM"};
    spawn.stdout_file = dir_ / "check-config.out";
    spawn.stderr_file = dir_ / "check-config.out";
    std::filesystem::remove(spawn.stdout_file);
    Subprocess check(spawn);
    const auto status = check.wait_or_kill(30s);
    if (output != nullptr) *output = check.stdout_text();
    return status;
}

std::vector<std::string> Scenario::daemon_pids() const {
    std::vector<std::string> pids;
    for (const auto& daemon : daemons_) pids.push_back(std::to_string(daemon->pid()));
    return pids;
}

std::vector<JournalEntry> Scenario::daemon_log() const {
    if (daemons_.empty()) return {};
    const auto pids = daemon_pids();
    return JournalReader::read_all(
        {{"SYSLOG_IDENTIFIER", {kDaemonIdentifier}}, {"_PID", std::set<std::string>(pids.begin(), pids.end())}});
}

std::vector<JournalEntry> Scenario::daemon_stderr() const {
    return JournalReader::read_all(by_identifier("iot-it-stderr-" + run_id_));
}

std::vector<JournalEntry> Scenario::daemon_events(std::string_view event) const {
    std::vector<JournalEntry> found;
    for (auto& entry : daemon_log()) {
        if (field_or_empty(entry, "IOT_EVENT") == event) found.push_back(std::move(entry));
    }
    return found;
}

::testing::AssertionResult Scenario::wait_for_event(std::string_view event, std::size_t count,
                                                    std::chrono::milliseconds timeout) const {
    std::size_t seen = 0;
    auto result = wait_until(
        "IOT_EVENT=" + std::string(event) + " in the daemon's log",
        [&] {
            seen = daemon_events(event).size();
            return seen >= count;
        },
        timeout, 200ms);
    if (!result) result << " (wanted " << count << ", saw " << seen << ")";
    return result;
}

std::string Scenario::emulator_log() const { return emulator_ ? emulator_->stderr_text() : std::string(); }

::testing::AssertionResult Scenario::no_secret_leaked() const {
    // Everything the daemon said, in one haystack.
    std::string haystack;
    const auto add_entries = [&](const std::vector<JournalEntry>& entries) {
        for (const auto& entry : entries) {
            for (const auto& [field, value] : entry) haystack += field + "=" + value + "\n";
        }
    };
    add_entries(daemon_log());
    add_entries(daemon_stderr());
    add_entries(JournalReader::read_all(by_identifier(config_.syslog_identifier)));
    for (const auto& daemon : daemons_) haystack += daemon->stdout_text();
    for (const auto& datagram : notify_->datagrams()) haystack += datagram.text + "\n";
    if (const auto check = read_file(dir_ / "check-config.out")) haystack += *check;

    for (const auto& secret : all_secrets_) {
        if (haystack.find(secret) != std::string::npos) {
            return ::testing::AssertionFailure() << "an AccessKey secret appears in the daemon's output";
        }
    }
    // Every base64 HMAC-SHA256 (44 characters) in the output is checked
    // against the SASL password for each millisecond of the scenario: a
    // password, whatever timestamp it signed, cannot hide.
    std::set<std::string> tokens;
    static const std::regex base64_token("[A-Za-z0-9+/]{43}=");
    for (auto it = std::sregex_iterator(haystack.begin(), haystack.end(), base64_token); it != std::sregex_iterator();
         ++it) {
        tokens.insert(it->str());
    }
    if (tokens.empty()) return ::testing::AssertionSuccess();
    const auto to_ms = [](std::chrono::system_clock::time_point t) {
        return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
    };
    const auto first = to_ms(wall_start_ - 5s);
    const auto last = to_ms(std::chrono::system_clock::now() + 5s);
    for (const auto& value : all_secrets_) {
        const Secret secret(value);
        for (auto ms = first; ms <= last; ++ms) {
            const auto password =
                hmac_base64(SignMethod::hmacsha256, secret, string_to_sign(access_key_id_, nullptr, ms));
            if (tokens.count(std::string(password.reveal())) != 0) {
                return ::testing::AssertionFailure()
                       << "a SASL password (signature for timestamp " << ms << ") appears in the daemon's output";
            }
        }
    }
    return ::testing::AssertionSuccess();
}

std::string Scenario::redact(std::string text) const {
    for (const auto& secret : all_secrets_) {
        for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at)) {
            text.replace(at, secret.size(), "<REDACTED>");
        }
    }
    return text;
}

std::string Scenario::diagnostics() const {
    std::ostringstream out;
    out << "run " << run_id_ << ", temp dir " << dir_.path().string() << ", emulator port " << port_ << "\n";
    for (std::size_t i = 0; i < daemons_.size(); ++i) {
        const auto& status = daemons_[i]->exit_status();
        out << "daemon #" << i + 1 << " pid " << daemons_[i]->pid() << ": "
            << (status ? status->to_string() : std::string("still running")) << "\n";
    }
    std::string log;
    try {
        const auto entries = daemon_log();
        const auto begin = entries.size() > kDiagnosticLines ? entries.end() - kDiagnosticLines : entries.begin();
        for (auto it = begin; it != entries.end(); ++it) log += describe_entry(*it) + "\n";
        out << "--- daemon log (" << entries.size() << " entries, last " << std::min(entries.size(), kDiagnosticLines)
            << ") ---\n"
            << log;
        std::string stream;
        for (const auto& entry : daemon_stderr()) stream += field_or_empty(entry, "MESSAGE") + "\n";
        out << "--- daemon stderr ---\n" << tail_lines(stream, 40);
    } catch (const std::exception& e) {
        out << "(cannot read the journal: " << e.what() << ")\n";
    }
    for (const auto& daemon : daemons_) {
        const auto text = daemon->stdout_text();
        if (!text.empty()) out << "--- daemon stdout (pid " << daemon->pid() << ") ---\n" << tail_lines(text, 20);
    }
    if (control_) {
        try {
            out << "--- emulator stats ---\n" << control_->request("stats") << "\n";
        } catch (const std::exception& e) {
            out << "(no emulator stats: " << e.what() << ")\n";
        }
    }
    out << "--- notify socket ---\n" << tail_lines(notify_ ? notify_->transcript() : std::string(), 60);
    out << "--- emulator log ---\n" << tail_lines(emulator_log(), 60);
    if (const auto config = read_file(config_path_)) out << "--- config ---\n" << *config;
    return redact(out.str());
}

}  // namespace iot::test
