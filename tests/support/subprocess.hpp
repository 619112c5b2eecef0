// A child program for a test: started with fork/exec, its stdout and stderr
// written to files, signalled, waited for with a deadline, and never left
// behind (the destructor kills and reaps it; PR_SET_PDEATHSIG kills it if
// the test process dies first).
//
// Owned by the thread that spawned it. PR_SET_PDEATHSIG fires when that
// *thread* exits, so spawn from the test's main thread, not a helper thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace iot::test {

struct SpawnOptions {
    std::filesystem::path program;
    std::vector<std::string> args;                               // without argv[0]
    std::vector<std::pair<std::string, std::string>> extra_env;  // added to (or replacing in) our environment
    std::vector<std::string> removed_env;                        // names dropped from the inherited environment
    std::filesystem::path stdout_file;                           // appended to; required
    std::filesystem::path stderr_file;  // appended to; required unless stderr goes to the journal

    // When set, stderr is a journald stream with this SYSLOG_IDENTIFIER and
    // $JOURNAL_STREAM names it, exactly as systemd sets up a service: a
    // program that checks JOURNAL_STREAM then logs structured entries.
    // (Stream lines carry the test process's _PID; native entries the child's.)
    std::string stderr_journal_identifier;

    // When >= 0, this descriptor becomes the child's fd 3 and the child is
    // told so by socket activation (LISTEN_FDS=1, LISTEN_PID=<its own pid>),
    // the way systemd hands a socket it holds to a service. The caller keeps
    // its own copy open, so the socket outlives the child.
    int listen_fd = -1;

    // Starts the child in a session of its own (setsid): a terminal's Ctrl-C
    // to our foreground process group does not reach it.
    bool own_session = false;
};

struct ExitStatus {
    bool exited = false;  // normal exit: `code` is valid
    int code = -1;
    int signal = 0;  // killed by a signal: its number
    bool killed_after_timeout = false;

    [[nodiscard]] bool clean() const noexcept { return exited && code == 0; }
    // "exit 0", "killed by signal 9 (Killed) after the timeout", ...
    [[nodiscard]] std::string to_string() const;
};

class Subprocess {
public:
    // Throws std::runtime_error when the program cannot be started (the
    // exec error travels back through a close-on-exec pipe).
    explicit Subprocess(const SpawnOptions& options);
    ~Subprocess();

    Subprocess(const Subprocess&) = delete;
    Subprocess& operator=(const Subprocess&) = delete;
    Subprocess(Subprocess&&) = delete;
    Subprocess& operator=(Subprocess&&) = delete;

    [[nodiscard]] pid_t pid() const noexcept { return pid_; }
    [[nodiscard]] const SpawnOptions& options() const noexcept { return options_; }

    // Reaps without blocking; true while the child has not exited.
    [[nodiscard]] bool running();
    // Sends a signal if the child still runs; false when it has already exited.
    bool signal(int signal_number);

    // The exit status once the child exits within `timeout`, nullopt otherwise (the child keeps running).
    [[nodiscard]] std::optional<ExitStatus> wait_for(std::chrono::milliseconds timeout);
    // Like wait_for, but sends SIGKILL at the deadline and reports that it had to.
    ExitStatus wait_or_kill(std::chrono::milliseconds timeout);
    // The exit status if the child has been reaped.
    [[nodiscard]] const std::optional<ExitStatus>& exit_status() const noexcept { return status_; }
    // Time from spawn to the moment the exit was noticed (polling granularity ~5 ms).
    [[nodiscard]] std::optional<std::chrono::steady_clock::duration> run_time() const noexcept;

    [[nodiscard]] std::string stdout_text() const;
    [[nodiscard]] std::string stderr_text() const;

private:
    bool try_reap();

    SpawnOptions options_;
    pid_t pid_ = -1;
    std::chrono::steady_clock::time_point started_;
    std::optional<std::chrono::steady_clock::time_point> ended_;
    std::optional<ExitStatus> status_;
};

}  // namespace iot::test
