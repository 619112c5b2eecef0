// The systemd-journald the integration tests write to and read from: the test
// process's own, in its private mount namespace (private_journald.hpp), so a
// test may pause, kill, restart, reconfigure and fill it; the host's journald
// is never found, signalled or configured by anything here.
//
// tests/integration/main.cpp enters the namespace and starts journald with
// the default Options before the first test, and after each test restarts it
// with the defaults if the test changed them or left it stopped or dead.
//
// Thread: the test thread (the process's main thread) only; the journald
// child is killed by PR_SET_PDEATHSIG when that thread exits.
//
// Example, a test that needs a full /var:
//
//   journald::Options options;
//   options.storage = journald::Storage::persistent;
//   options.journal_filesystem_bytes = 64 << 20;
//   journald::restart(options);
//   const auto files = *journald::journal_directory();  // /var/log/journal
//   write a filler file under `files` until ENOSPC ... then remove it.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>

#include "private_journald.hpp"

namespace iot::test::journald {

// Enters the private mount namespace and starts journald with default
// Options. Called once, from main, before any thread exists. Throws.
void set_up_for_tests();

// Restarts journald with the default Options unless it already runs
// unpaused with them. Called after every test. Throws.
void restore_defaults();

// The PID of our journald while it runs (paused counts as running).
[[nodiscard]] std::optional<pid_t> find_pid();

// True when kSocketPath has a socket bound to it. With
// SocketShape::held_by_parent that is always so, journald running or not.
[[nodiscard]] bool socket_accepts();

// Starts journald with the current options if it does not run; waits until
// it accepts. Returns its PID; throws std::runtime_error when it fails.
pid_t ensure_running();

// SIGSTOP / SIGCONT our journald. A stopped journald keeps its socket bound,
// so writers block (stream) or fill the socket buffer (datagram) instead of
// failing. Throws std::invalid_argument for any PID but find_pid()'s.
void pause(pid_t pid);
void resume(pid_t pid);

// Kills our journald (SIGKILL, like a crash) or stops it (SIGTERM), and waits
// until it is gone (reaped). False when it did not go within 10 s, or when
// `pid` is not our journald's (nothing is signalled then).
bool kill_and_wait(pid_t pid, int signal_number);

// Stops our journald (SIGTERM; `pid` must be ours) and starts it again with
// the current options: the new PID.
pid_t restart(pid_t pid);

// Sets net.unix.max_dgram_qlen in this test's network namespace (a fresh
// one has the kernel's 10; a host systemd booted has 512) and restarts
// journald, whose socket keeps the length it was made with. The new PID;
// throws std::runtime_error. (Each test is a process with a namespace of
// its own: nothing to put back.)
pid_t restart_with_queue_length(int datagrams);

// Stops our journald, if it runs, and starts it with `options` (socket shape,
// Storage=, extra [Journal] lines, journal file system size). The journal
// files stay; with SocketShape::held_by_parent the socket and whatever is
// queued on it stay too. Returns the new PID; throws std::runtime_error.
pid_t restart(const Options& options);

// The options journald runs (or last ran) with.
[[nodiscard]] const Options& current_options();

// Where the current journald writes its files (kRuntimeJournalDirectory for
// Storage=volatile, kSystemJournalDirectory for persistent or auto); nullopt
// for Storage=none. Each is a tmpfs of its own, sized by
// Options::journal_filesystem_bytes, private to this test process.
[[nodiscard]] std::optional<std::filesystem::path> journal_directory();

// Resumes a paused journald when it goes out of scope, so a failing
// assertion cannot leave it stopped.
class PauseGuard {
public:
    explicit PauseGuard(pid_t pid);
    ~PauseGuard();
    PauseGuard(const PauseGuard&) = delete;
    PauseGuard& operator=(const PauseGuard&) = delete;
    PauseGuard(PauseGuard&&) = delete;
    PauseGuard& operator=(PauseGuard&&) = delete;

    void resume_now();

private:
    pid_t pid_;
    bool paused_ = true;
};

}  // namespace iot::test::journald
