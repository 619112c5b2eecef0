#include "subprocess.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <map>
#include <stdexcept>
#include <thread>

#include "temp_dir.hpp"

extern char** environ;

namespace iot::test {

namespace {

// Room for any pid in the LISTEN_PID= placeholder (pid_max is at most 2^22).
constexpr std::size_t kPidDigits = 10;

// argv/envp storage built before fork(): after fork() in a threaded process
// only async-signal-safe calls are allowed, so no allocation happens there.
struct ExecStrings {
    std::vector<std::string> storage;
    std::vector<char*> pointers;

    void finish() {
        pointers.clear();
        for (auto& text : storage) pointers.push_back(text.data());
        pointers.push_back(nullptr);
    }
};

ExecStrings build_argv(const SpawnOptions& options) {
    ExecStrings argv;
    argv.storage.push_back(options.program.string());
    argv.storage.insert(argv.storage.end(), options.args.begin(), options.args.end());
    argv.finish();
    return argv;
}

ExecStrings build_envp(const SpawnOptions& options) {
    std::map<std::string, std::string> env;
    for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
        const std::string text(*entry);
        const auto equals = text.find('=');
        if (equals == std::string::npos) continue;
        env[text.substr(0, equals)] = text.substr(equals + 1);
    }
    for (const auto& name : options.removed_env) env.erase(name);
    for (const auto& [name, value] : options.extra_env) env[name] = value;
    env.erase("LISTEN_FDS");
    env.erase("LISTEN_PID");
    env.erase("LISTEN_FDNAMES");
    if (options.listen_fd >= 0) {
        env["LISTEN_FDS"] = "1";
        // The child's pid is known only after fork(): the digits are written
        // into this placeholder there (see write_listen_pid).
        env["LISTEN_PID"] = std::string(kPidDigits, '0');
    }
    ExecStrings envp;
    for (const auto& [name, value] : env) envp.storage.push_back(name + "=" + value);
    envp.finish();
    return envp;
}

// Connects a journald stdout stream the way systemd does for a service's
// stderr; returns the fd and its "dev:ino" for $JOURNAL_STREAM.
std::pair<int, std::string> open_journal_stream(const std::string& identifier) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, "/run/systemd/journal/stdout", sizeof address.sun_path - 1);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        const int error = errno;
        ::close(fd);
        throw std::runtime_error(std::string("connect /run/systemd/journal/stdout: ") + std::strerror(error));
    }
    ::shutdown(fd, SHUT_RD);
    // identifier, unit id, priority, level prefix, forward to syslog / kmsg / console
    const std::string header = identifier + "\n\n6\n0\n0\n0\n0\n";
    struct stat st {};
    if (::write(fd, header.data(), header.size()) != static_cast<ssize_t>(header.size()) || ::fstat(fd, &st) != 0) {
        const int error = errno;
        ::close(fd);
        throw std::runtime_error(std::string("journal stream: ") + std::strerror(error));
    }
    return {fd, std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino)};
}

// Writes getpid() into the LISTEN_PID= placeholder of the child's envp copy.
// Async-signal-safe: no allocation, only getpid().
void write_listen_pid(ExecStrings& envp) {
    constexpr char kName[] = "LISTEN_PID=";
    for (char* entry : envp.pointers) {
        if (entry == nullptr || std::strncmp(entry, kName, sizeof kName - 1) != 0) continue;
        char* digits = entry + sizeof kName - 1;
        unsigned long value = static_cast<unsigned long>(::getpid());
        char reversed[kPidDigits];
        std::size_t count = 0;
        do {
            reversed[count++] = static_cast<char>('0' + value % 10);
            value /= 10;
        } while (value != 0 && count < kPidDigits);
        for (std::size_t i = 0; i < count; ++i) digits[i] = reversed[count - 1 - i];
        digits[count] = '\0';
        return;
    }
}

[[noreturn]] void child_fail(int report_fd, int error) {
    // Only async-signal-safe calls here.
    ssize_t ignored = ::write(report_fd, &error, sizeof error);
    (void)ignored;
    ::_exit(127);
}

}  // namespace

std::string ExitStatus::to_string() const {
    std::string text;
    if (exited) {
        text = "exit " + std::to_string(code);
    } else if (signal != 0) {
        const char* name = ::strsignal(signal);
        text = "killed by signal " + std::to_string(signal) + " (" + (name != nullptr ? name : "?") + ")";
    } else {
        text = "not exited";
    }
    if (killed_after_timeout) text += " after the timeout (we sent SIGKILL)";
    return text;
}

Subprocess::Subprocess(const SpawnOptions& options) : options_(options) {
    if (options.stdout_file.empty() || (options.stderr_file.empty() && options.stderr_journal_identifier.empty())) {
        throw std::invalid_argument("Subprocess: stdout_file and stderr_file are required");
    }
    int journal_fd = -1;
    if (!options.stderr_journal_identifier.empty()) {
        auto [fd, stream] = open_journal_stream(options.stderr_journal_identifier);
        journal_fd = fd;
        options_.extra_env.emplace_back("JOURNAL_STREAM", stream);
    }
    auto argv = build_argv(options_);
    auto envp = build_envp(options_);
    const std::string stdout_path = options.stdout_file.string();
    const std::string stderr_path = options.stderr_file.string();

    int report[2];
    if (::pipe2(report, O_CLOEXEC) != 0) {
        const int error = errno;
        if (journal_fd >= 0) ::close(journal_fd);
        throw std::runtime_error(std::string("pipe2: ") + std::strerror(error));
    }
    const pid_t parent = ::getpid();

    started_ = std::chrono::steady_clock::now();
    pid_ = ::fork();
    if (pid_ < 0) {
        const int error = errno;
        ::close(report[0]);
        ::close(report[1]);
        if (journal_fd >= 0) ::close(journal_fd);
        throw std::runtime_error(std::string("fork: ") + std::strerror(error));
    }
    if (pid_ == 0) {
        ::close(report[0]);
        if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) child_fail(report[1], errno);
        if (::getppid() != parent) ::_exit(127);  // the parent died before prctl took effect
        // Start from a clean signal state: the test process may block signals
        // (the daemon blocks its own, but must not inherit ours).
        sigset_t none;
        ::sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        for (int number = 1; number < NSIG; ++number) {
            if (number != SIGKILL && number != SIGSTOP) ::signal(number, SIG_DFL);
        }
        if (options.own_session && ::setsid() < 0) child_fail(report[1], errno);
        if (options.listen_fd >= 0) {
            // dup2 clears FD_CLOEXEC on the copy; when the fd already is 3, clear it by hand.
            if (options.listen_fd == 3) {
                if (::fcntl(3, F_SETFD, 0) != 0) child_fail(report[1], errno);
            } else if (::dup2(options.listen_fd, 3) < 0) {
                child_fail(report[1], errno);
            }
            write_listen_pid(envp);
        }
        const int null_fd = ::open("/dev/null", O_RDONLY);
        const int out_fd = ::open(stdout_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
        const int err_fd =
            journal_fd >= 0 ? journal_fd : ::open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (null_fd < 0 || out_fd < 0 || err_fd < 0) child_fail(report[1], errno);
        if (::dup2(null_fd, STDIN_FILENO) < 0 || ::dup2(out_fd, STDOUT_FILENO) < 0 ||
            ::dup2(err_fd, STDERR_FILENO) < 0) {
            child_fail(report[1], errno);
        }
        ::execve(argv.pointers[0], argv.pointers.data(), envp.pointers.data());
        child_fail(report[1], errno);
    }

    ::close(report[1]);
    if (journal_fd >= 0) ::close(journal_fd);
    int child_error = 0;
    ssize_t got;
    do {
        got = ::read(report[0], &child_error, sizeof child_error);
    } while (got < 0 && errno == EINTR);
    ::close(report[0]);
    if (got > 0) {
        int ignored_status = 0;
        ::waitpid(pid_, &ignored_status, 0);
        pid_ = -1;
        throw std::runtime_error("cannot start " + options.program.string() + ": " + std::strerror(child_error));
    }
}

Subprocess::~Subprocess() {
    if (pid_ > 0 && !status_) {
        ::kill(pid_, SIGKILL);
        int ignored = 0;
        while (::waitpid(pid_, &ignored, 0) < 0 && errno == EINTR) {}
    }
}

bool Subprocess::try_reap() {
    if (status_) return true;
    int raw = 0;
    const pid_t reaped = ::waitpid(pid_, &raw, WNOHANG);
    if (reaped != pid_) return false;
    ended_ = std::chrono::steady_clock::now();
    ExitStatus status;
    if (WIFEXITED(raw)) {
        status.exited = true;
        status.code = WEXITSTATUS(raw);
    } else if (WIFSIGNALED(raw)) {
        status.signal = WTERMSIG(raw);
    }
    status_ = status;
    return true;
}

bool Subprocess::running() { return !try_reap(); }

bool Subprocess::signal(int signal_number) {
    if (try_reap()) return false;
    return ::kill(pid_, signal_number) == 0;
}

std::optional<ExitStatus> Subprocess::wait_for(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!try_reap()) {
        if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return status_;
}

ExitStatus Subprocess::wait_or_kill(std::chrono::milliseconds timeout) {
    if (auto status = wait_for(timeout)) return *status;
    ::kill(pid_, SIGKILL);
    int raw = 0;
    while (::waitpid(pid_, &raw, 0) < 0 && errno == EINTR) {}
    ended_ = std::chrono::steady_clock::now();
    ExitStatus status;
    status.signal = WIFSIGNALED(raw) ? WTERMSIG(raw) : 0;
    status.exited = WIFEXITED(raw);
    status.code = status.exited ? WEXITSTATUS(raw) : -1;
    status.killed_after_timeout = true;
    status_ = status;
    return status;
}

std::optional<std::chrono::steady_clock::duration> Subprocess::run_time() const noexcept {
    if (!ended_) return std::nullopt;
    return *ended_ - started_;
}

std::string Subprocess::stdout_text() const { return read_file(options_.stdout_file).value_or(""); }
std::string Subprocess::stderr_text() const {
    if (options_.stderr_file.empty()) return {};
    return read_file(options_.stderr_file).value_or("");
}

}  // namespace iot::test
