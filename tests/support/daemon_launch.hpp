// Starts the daemon under test for a Scenario the way Scenario::start_daemon
// does (its config, its NOTIFY_SOCKET, a watchdog, a clean service
// environment) but with what that one cannot vary: an environment variable
// left in on purpose (PN_TRACE_FRM=1), stderr in a file instead of a journal
// stream (needed while journald is down: a stream cannot be opened then),
// core dumps allowed into the scenario's dir, another config file. The caller
// owns the process.
//
// Owned by the test thread (spawns children: see subprocess.hpp).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "journal_reader.hpp"
#include "scenario.hpp"
#include "subprocess.hpp"

namespace iot::test {

struct DaemonLaunch {
    std::string name = "custom";        // names its files in the scenario's dir: <name>.out / <name>.err
    std::filesystem::path config_path;  // empty: the scenario's config file
    std::vector<std::string> extra_args;
    std::vector<std::pair<std::string, std::string>> extra_env;  // set after the clean-up, so they win
    bool stderr_to_journal = true;                               // false: stderr goes to <name>.err (text log lines)
    std::chrono::milliseconds watchdog{2000};                    // WATCHDOG_USEC; 0 = unset
    // Starts it with RLIMIT_CORE unlimited and the scenario's dir as its
    // working directory, so a crash leaves its core there when the kernel's
    // core_pattern is a plain file name (see core_dumps_land_in_cwd()).
    bool allow_core_dump = false;
};

// True when /proc/sys/kernel/core_pattern names a file relative to the
// crashing process's working directory (not a pipe to a collector).
[[nodiscard]] bool core_dumps_land_in_cwd();

// The daemon's stderr journal-stream identifier for this launch.
[[nodiscard]] std::string stderr_identifier(const Scenario& scenario, const DaemonLaunch& launch);

// Throws what Subprocess throws.
[[nodiscard]] std::unique_ptr<Subprocess> launch_daemon(Scenario& scenario, const DaemonLaunch& launch);

// The daemon's own entries (SYSLOG_IDENTIFIER=iot-amqpd) written by these PIDs.
[[nodiscard]] std::vector<JournalEntry> daemon_log_of(const std::vector<pid_t>& pids);

// Waits for READY=1 on the scenario's notify socket sent at or after `since`.
[[nodiscard]] ::testing::AssertionResult wait_ready_since(Scenario& scenario, Subprocess& daemon,
                                                          std::chrono::steady_clock::time_point since,
                                                          std::chrono::milliseconds timeout = std::chrono::seconds(15));

// SIGHUP to `daemon`, then waits for RELOADING=1 and a READY=1 after it.
[[nodiscard]] ::testing::AssertionResult reload_daemon(Scenario& scenario, Subprocess& daemon,
                                                       std::chrono::milliseconds timeout = std::chrono::seconds(15));

}  // namespace iot::test
