#include "journald.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <dirent.h>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include "temp_dir.hpp"
#include "wait_until.hpp"

namespace iot::test::journald {

namespace {

std::string script_path() { return std::string(IOT_SOURCE_DIR) + "/scripts/start-test-journald.sh"; }

struct PipeCloser {
    void operator()(FILE* pipe) const noexcept { ::pclose(pipe); }
};

// Runs a shell command, returning its exit code and stdout+stderr.
std::pair<int, std::string> run_capturing(const std::string& command) {
    std::unique_ptr<FILE, PipeCloser> pipe(::popen((command + " 2>&1").c_str(), "r"));
    if (!pipe) throw std::runtime_error("popen failed: " + command);
    std::string output;
    char buffer[512];
    while (std::fgets(buffer, sizeof buffer, pipe.get()) != nullptr) output += buffer;
    const int raw = ::pclose(pipe.release());
    const int code = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    return {code, output};
}

// True while the process exists and is not a zombie: a journald started
// detached is re-parented to PID 1, which in some sandboxes never reaps it.
bool process_alive(pid_t pid) {
    const auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    if (!stat) return false;
    const auto paren = stat->rfind(')');
    if (paren == std::string::npos || paren + 2 >= stat->size()) return false;
    const char state = (*stat)[paren + 2];
    return state != 'Z' && state != 'X';
}

bool same_mount_namespace(const std::string& pid) {
    std::error_code theirs_error;
    std::error_code ours_error;
    const auto theirs = std::filesystem::read_symlink("/proc/" + pid + "/ns/mnt", theirs_error);
    const auto ours = std::filesystem::read_symlink("/proc/self/ns/mnt", ours_error);
    return !theirs_error && !ours_error && theirs == ours;
}

}  // namespace

std::optional<pid_t> find_pid() {
    std::unique_ptr<DIR, int (*)(DIR*)> proc(::opendir("/proc"), ::closedir);
    if (!proc) return std::nullopt;
    while (const dirent* entry = ::readdir(proc.get())) {
        const std::string name = entry->d_name;
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
        auto comm = read_file("/proc/" + name + "/comm");
        // comm is the first 15 characters of the executable's name.
        if (!comm || *comm != "systemd-journal\n") continue;
        // A journald in another mount namespace (a benchmark's private one)
        // serves another /run/systemd/journal/socket: not ours to pause or kill.
        if (!same_mount_namespace(name)) continue;
        const auto pid = static_cast<pid_t>(std::stol(name));
        if (process_alive(pid)) return pid;
    }
    return std::nullopt;
}

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
    if (::geteuid() == 0) {
        const auto [code, output] = run_capturing("/bin/sh " + script_path());
        if (code != 0)
            throw std::runtime_error("start-test-journald.sh failed (exit " + std::to_string(code) + "): " + output);
        pid_t pid = 0;
        try {
            pid = static_cast<pid_t>(std::stol(output));
        } catch (const std::exception&) {
            throw std::runtime_error("start-test-journald.sh printed no PID: " + output);
        }
        // The script may have settled for a journald of another mount
        // namespace (then ours is not back), and it takes a stale socket file
        // for a bound one: tests must not go on until ours accepts.
        if (!same_mount_namespace(std::to_string(pid))) {
            // The script took a journald of another mount namespace (a
            // benchmark's private one) for ours: start ours as it would have.
            if (!find_pid()) (void)run_capturing("setsid /lib/systemd/systemd-journald </dev/null >/dev/null 2>&1 &");
            const auto ours = wait_until(
                "our journald", [] { return find_pid().has_value(); }, Millis{10000});
            if (!ours) {
                throw std::runtime_error("start-test-journald.sh reported journald " + std::to_string(pid) +
                                         " of another mount namespace, and ours at " + kSocketPath + " did not start");
            }
            pid = *find_pid();
        }
        if (!wait_until("journald's socket to accept", socket_accepts, Millis{10000}, Millis{10})) {
            throw std::runtime_error("journald " + std::to_string(pid) + " runs but " + kSocketPath +
                                     " does not accept within 10 s");
        }
        return pid;
    }
    const auto pid = find_pid();
    if (pid && socket_accepts()) return *pid;
    throw std::runtime_error(
        "no journald runs and only root can start one: run scripts/start-test-journald.sh as root");
}

void pause(pid_t pid) {
    if (::kill(pid, SIGSTOP) != 0) throw std::runtime_error("SIGSTOP journald: " + std::string(std::strerror(errno)));
}

void resume(pid_t pid) {
    if (::kill(pid, SIGCONT) != 0 && errno != ESRCH) {
        throw std::runtime_error("SIGCONT journald: " + std::string(std::strerror(errno)));
    }
}

bool kill_and_wait(pid_t pid, int signal_number) {
    ::kill(pid, SIGCONT);  // a stopped process would not act on SIGTERM
    if (::kill(pid, signal_number) != 0) return errno == ESRCH;
    return static_cast<bool>(wait_until(
        "journald " + std::to_string(pid) + " to exit", [pid] { return !process_alive(pid); }, Millis{10000},
        Millis{10}));
}

pid_t restart(pid_t pid) {
    if (!kill_and_wait(pid, SIGTERM)) throw std::runtime_error("journald did not stop within 10 s");
    return ensure_running();
}

PauseGuard::PauseGuard(pid_t pid) : pid_(pid) { pause(pid_); }

PauseGuard::~PauseGuard() {
    if (paused_) ::kill(pid_, SIGCONT);
}

void PauseGuard::resume_now() {
    if (!paused_) return;
    resume(pid_);
    paused_ = false;
}

}  // namespace iot::test::journald
