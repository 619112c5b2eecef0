// The systemd-journald the integration tests write to and read from: found
// or started (through scripts/start-test-journald.sh, which lifts its rate
// limit), paused with SIGSTOP, killed and restarted.
//
// Stateless functions over a process the tests share; call them from the
// test thread.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace iot::test::journald {

inline constexpr const char* kSocketPath = "/run/systemd/journal/socket";

// The PID of the running systemd-journald, found through /proc.
[[nodiscard]] std::optional<pid_t> find_pid();

// True when journald's native datagram socket has a reader bound to it.
[[nodiscard]] bool socket_accepts();

// Makes sure journald runs with the tests' drop-in: as root, runs
// scripts/start-test-journald.sh (idempotent); otherwise uses a running
// journald whose socket accepts. Returns its PID; throws std::runtime_error
// with the script's output when that fails.
pid_t ensure_running();

// SIGSTOP / SIGCONT. A stopped journald keeps its socket bound, so writers
// block (stream) or fill the socket buffer (datagram) instead of failing.
void pause(pid_t pid);
void resume(pid_t pid);

// Kills journald (SIGKILL, like a crash) or stops it (SIGTERM), and waits
// until the process is gone. Returns false when it did not go within 10 s.
bool kill_and_wait(pid_t pid, int signal_number);

// kill_and_wait(SIGTERM) then ensure_running(): the new PID.
pid_t restart(pid_t pid);

// Resumes a paused journald when it goes out of scope, so a failing
// assertion cannot leave the machine's journald stopped.
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
