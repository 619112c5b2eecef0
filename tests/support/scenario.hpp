// One integration scenario: test certificates, an emulator program with its
// accounts, a secret file, the daemon under test with a NOTIFY_SOCKET and a
// watchdog, and the views a test asserts on (the journal, the notify socket,
// the emulator's counters). On teardown it stops everything and, when the
// test failed, prints the daemon's and emulator's logs with secrets redacted.
//
// Owned by the test thread (spawns children: see subprocess.hpp).
#pragma once

#include <chrono>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "../emulator/control_client.hpp"
#include "../emulator/json.hpp"
#include "daemon_config.hpp"
#include "journal_reader.hpp"
#include "notify_listener.hpp"
#include "subprocess.hpp"
#include "temp_dir.hpp"

namespace iot::test {

struct ScenarioOptions {
    bool strict_emulator = false;  // reject a timestamp not newer than the client's last (replays)
    // Which certificate the emulator presents, by its file stem from
    // make-test-certs.sh: "server", "expired-server", "wrong-host-server", ...
    std::string server_cert = "server";
    std::vector<std::string> consumer_group_ids = {"CG-A", "CG-B", "CG-C", "CG-D"};
    std::chrono::milliseconds watchdog{2000};  // WATCHDOG_USEC for the daemon; 0 = unset
    std::vector<std::string> emulator_args;    // extra emulator options
    std::vector<std::string> security_tokens;  // STS tokens the account accepts (auth_mode: ststoken)
    // Non-empty: the accounts file gains an IoTDA tenant with these queues
    // (DefaultQueue always exists) and one access key whose access code is
    // correct_secret(); iotda_instance_id, when set, is then required.
    std::vector<std::string> iotda_queues;
    std::string iotda_instance_id;
};

// A scenario's snapshot of one group's emulator counters (the "stats" reply).
struct GroupCounters {
    std::int64_t published = 0, delivered = 0, accepted = 0, redelivered = 0, in_flight = 0, queued = 0;
    std::int64_t max_link_credit = 0;  // the most unused credit one link held at once
    std::int64_t released = 0, rejected = 0, modified = 0, ack_timeouts = 0, requeued_on_loss = 0;
    std::int64_t connections = 0, connections_total = 0, links = 0;
    std::int64_t auth_ok = 0, auth_failures = 0, refused_attempts = 0, stale_timestamps = 0;
    std::int64_t closes_with_link_attached = 0;                    // the daemon's Close came before its link's detach
    std::map<std::string, std::int64_t> client_connections_total;  // client id -> admitted connections
    std::map<std::string, std::int64_t> client_stale_timestamps;

    // Admitted connections of one client id (0 when it never connected).
    [[nodiscard]] std::int64_t connections_of(const std::string& client_id) const {
        const auto found = client_connections_total.find(client_id);
        return found == client_connections_total.end() ? 0 : found->second;
    }
    [[nodiscard]] std::string summary() const;
};

class Scenario {
public:
    explicit Scenario(ScenarioOptions options = {});
    ~Scenario();

    Scenario(const Scenario&) = delete;
    Scenario& operator=(const Scenario&) = delete;
    Scenario(Scenario&&) = delete;
    Scenario& operator=(Scenario&&) = delete;

    [[nodiscard]] TempDir& dir() noexcept { return dir_; }
    [[nodiscard]] const std::string& run_id() const noexcept { return run_id_; }
    [[nodiscard]] const std::filesystem::path& cert_dir() const noexcept { return cert_dir_; }

    // ---- the emulator ----
    [[nodiscard]] std::uint16_t emulator_port() const noexcept { return port_; }
    [[nodiscard]] emu::ControlClient& control() { return *control_; }
    // Sends a control command; throws when the emulator says "ok": false.
    emu::Json emulator(std::string_view command);
    // publish group=<cgid> count=N id_prefix=<P> <extra>; returns the reply.
    emu::Json publish(const std::string& consumer_group_id, std::size_t count, const std::string& id_prefix,
                      const std::string& extra = "");
    // publish queue=<name> count=N id_prefix=<P> <extra> (IoTDA; request ids <P>-<n>).
    emu::Json publish_queue(const std::string& queue, std::size_t count, const std::string& id_prefix,
                            const std::string& extra = "");
    [[nodiscard]] GroupCounters counters(const std::string& consumer_group_id);
    // An IoTDA queue's counters (stats "queues"; connections and links count
    // the receiver links attached to it).
    [[nodiscard]] GroupCounters queue_counters(const std::string& queue);
    // Waits until every listed group has accepted == published and nothing in flight or queued.
    [[nodiscard]] ::testing::AssertionResult wait_all_accepted(const std::vector<std::string>& consumer_group_ids,
                                                               std::chrono::milliseconds timeout);
    // Waits until the group has exactly `links` receiver links attached.
    [[nodiscard]] ::testing::AssertionResult wait_for_links(
        const std::string& consumer_group_id, std::int64_t links,
        std::chrono::milliseconds timeout = std::chrono::seconds(20));

    // ---- the daemon's configuration and secret ----
    [[nodiscard]] DaemonConfig& config() noexcept { return config_; }
    [[nodiscard]] const std::filesystem::path& config_path() const noexcept { return config_path_; }
    [[nodiscard]] const std::filesystem::path& secret_path() const noexcept { return secret_path_; }
    [[nodiscard]] const std::string& message_identifier() const noexcept { return config_.syslog_identifier; }
    void write_config();                            // config().to_yaml()
    void write_config_text(std::string_view yaml);  // anything, e.g. a broken file
    // Replaces the secret file's content; any value written is also treated
    // as a secret that must never appear in output.
    void write_secret(const std::string& value);
    [[nodiscard]] const std::string& correct_secret() const noexcept { return secret_; }
    // Another secret the daemon is given (a broker password, an access code):
    // no_secret_leaked() and diagnostics() treat it as the AccessKey secret.
    void add_secret(const std::string& value) { all_secrets_.push_back(value); }
    [[nodiscard]] const std::string& access_key_id() const noexcept { return access_key_id_; }
    // The IoTDA tenant's access key (its access code is correct_secret()).
    [[nodiscard]] const std::string& iotda_access_key() const noexcept { return iotda_access_key_; }

    // ---- the daemon ----
    // Writes the config if it was never written, then starts the daemon.
    Subprocess& start_daemon(std::vector<std::string> extra_args = {});
    [[nodiscard]] Subprocess* daemon() noexcept { return daemons_.empty() ? nullptr : daemons_.back().get(); }
    [[nodiscard]] std::chrono::steady_clock::time_point daemon_started() const noexcept { return daemon_started_; }
    // Start, then wait for READY=1 from this start.
    [[nodiscard]] ::testing::AssertionResult start_daemon_and_wait_ready(
        std::chrono::milliseconds timeout = std::chrono::seconds(15));
    // Sends `signal_number` and waits (SIGKILL at the deadline).
    ExitStatus stop_daemon(int signal_number = SIGTERM, std::chrono::milliseconds timeout = std::chrono::seconds(10));
    // SIGHUP, then waits for RELOADING=1 and a READY=1 after it.
    [[nodiscard]] ::testing::AssertionResult reload(std::chrono::milliseconds timeout = std::chrono::seconds(15));
    // Runs `iot-amqpd --check-config -c <config>` and returns its status; output in *output.
    ExitStatus check_config(std::string* output = nullptr);

    // ---- what tests look at ----
    [[nodiscard]] NotifyListener& notify() noexcept { return *notify_; }
    [[nodiscard]] JournalReader& messages() noexcept { return *messages_; }
    // The daemon's own log entries (SYSLOG_IDENTIFIER=iot-amqpd from every
    // daemon this scenario started), freshly read.
    [[nodiscard]] std::vector<JournalEntry> daemon_log() const;
    // Lines the daemon wrote to stderr outside its logger (the stream).
    [[nodiscard]] std::vector<JournalEntry> daemon_stderr() const;
    [[nodiscard]] std::vector<JournalEntry> daemon_events(std::string_view event) const;
    [[nodiscard]] ::testing::AssertionResult wait_for_event(std::string_view event, std::size_t count,
                                                            std::chrono::milliseconds timeout) const;
    // Emulator's own log (stderr): one line per event.
    [[nodiscard]] std::string emulator_log() const;

    // No AccessKey secret written by this scenario, and no SASL password
    // the daemon could have computed during the scenario, appears in the
    // daemon's journal entries, stderr, stdout, message entries or notify
    // datagrams.
    [[nodiscard]] ::testing::AssertionResult no_secret_leaked() const;

    // Logs and state for a failure message, secrets redacted.
    [[nodiscard]] std::string diagnostics() const;

private:
    void start_emulator();
    [[nodiscard]] static GroupCounters counters_of(const emu::Json& group);  // one "groups"/"queues" entry
    [[nodiscard]] std::string redact(std::string text) const;
    [[nodiscard]] std::vector<std::string> daemon_pids() const;

    ScenarioOptions options_;
    TempDir dir_;
    std::string run_id_;
    std::filesystem::path cert_dir_;
    std::string access_key_id_;
    std::string iotda_access_key_;
    std::string secret_;
    std::vector<std::string> all_secrets_;  // every value ever written to the secret file
    std::filesystem::path secret_path_;
    std::filesystem::path config_path_;
    bool config_written_ = false;
    DaemonConfig config_;
    std::chrono::system_clock::time_point wall_start_;

    std::unique_ptr<Subprocess> emulator_;
    std::uint16_t port_ = 0;
    std::unique_ptr<emu::ControlClient> control_;

    std::unique_ptr<NotifyListener> notify_;
    std::unique_ptr<JournalReader> messages_;
    std::vector<std::unique_ptr<Subprocess>> daemons_;
    std::chrono::steady_clock::time_point daemon_started_;
};

// Paths of the build outputs under test.
[[nodiscard]] std::filesystem::path daemon_program();
[[nodiscard]] std::filesystem::path emulator_program();

}  // namespace iot::test
