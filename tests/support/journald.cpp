#include "journald.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>

#include "temp_dir.hpp"

namespace iot::test::journald {

namespace {

using namespace std::chrono_literals;

PrivateJournald& ours() { return PrivateJournald::instance(); }

// Only our own journald is ever signalled: a PID from anywhere else (a stale
// one, the host's) is a bug in the test.
void require_ours(pid_t pid, const char* what) {
    const auto running = ours().pid();
    if (!running || *running != pid) {
        throw std::invalid_argument(std::string(what) + ": " + std::to_string(pid) + " is not the test's journald (" +
                                    (running ? std::to_string(*running) : std::string("none runs")) + ")");
    }
}

// 'T' in /proc/PID/stat: stopped by SIGSTOP.
bool stopped(pid_t pid) {
    const auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    if (!stat) return false;
    const auto paren = stat->rfind(')');
    return paren != std::string::npos && paren + 2 < stat->size() && (*stat)[paren + 2] == 'T';
}

}  // namespace

void set_up_for_tests() {
    enter_private_mount_namespace();
    (void)ours().start(Options{});
}

void restore_defaults() {
    const auto pid = ours().pid();
    if (pid && !stopped(*pid) && ours().options() == Options{}) return;
    (void)ours().start(Options{});
}

std::optional<pid_t> find_pid() { return ours().pid(); }

bool socket_accepts() {
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, kSocketPath, sizeof address.sun_path - 1);
    // connect() on a datagram socket fails with ECONNREFUSED when nobody is bound.
    const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
    ::close(fd);
    return ok;
}

pid_t ensure_running() {
    if (const auto pid = ours().pid()) return *pid;
    return ours().start(ours().options());
}

void pause(pid_t pid) {
    require_ours(pid, "pause");
    if (::kill(pid, SIGSTOP) != 0) throw std::runtime_error("SIGSTOP journald: " + std::string(std::strerror(errno)));
}

void resume(pid_t pid) {
    const auto running = ours().pid();
    if (!running) return;  // it was killed meanwhile: nothing to resume
    require_ours(pid, "resume");
    if (::kill(pid, SIGCONT) != 0 && errno != ESRCH) {
        throw std::runtime_error("SIGCONT journald: " + std::string(std::strerror(errno)));
    }
}

bool kill_and_wait(pid_t pid, int signal_number) {
    const auto running = ours().pid();
    if (!running || *running != pid) return false;
    return ours().kill_and_wait(signal_number, 10s);
}

pid_t restart(pid_t pid) {
    require_ours(pid, "restart");
    return ours().start(ours().options());
}

pid_t restart(const Options& options) { return ours().start(options); }

pid_t restart_with_queue_length(int datagrams) {
    const char* path = "/proc/sys/net/unix/max_dgram_qlen";
    {
        std::ofstream sysctl(path);
        sysctl << datagrams << '\n';
        if (!sysctl.flush()) throw std::runtime_error(std::string("cannot write ") + path);
    }
    return ours().start(ours().options());
}

const Options& current_options() { return ours().options(); }

std::optional<std::filesystem::path> journal_directory() { return journald::journal_directory(ours().options()); }

PauseGuard::PauseGuard(pid_t pid) : pid_(pid) { pause(pid_); }

PauseGuard::~PauseGuard() {
    // Never throws: it may run while an assertion unwinds the test.
    if (paused_ && ours().pid() == pid_) ::kill(pid_, SIGCONT);
}

void PauseGuard::resume_now() {
    if (!paused_) return;
    resume(pid_);
    paused_ = false;
}

}  // namespace iot::test::journald
