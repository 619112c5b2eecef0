#include "private_journald.hpp"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <stdexcept>
#include <thread>

#include "subprocess.hpp"
#include "temp_dir.hpp"

namespace iot::test::journald {

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kJournaldProgram = "/lib/systemd/systemd-journald";
// journald reads this flag to write to /var/log/journal rather than /run: on
// a booted system systemd-journal-flush.service sets it once /var is mounted.
constexpr const char* kFlushedFlag = "/run/systemd/journal/flushed";

bool entered = false;

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what + ": " + std::strerror(errno)); }

void mount_tmpfs(const fs::path& at, const std::string& options) {
    if (::mount("iot-test-journald", at.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) != 0) {
        fail("mount tmpfs on " + at.string());
    }
}

std::string size_option(const std::optional<std::uint64_t>& bytes) {
    return bytes ? "size=" + std::to_string(*bytes) : std::string("size=50%");
}

bool is_real_directory(const fs::path& path) {
    std::error_code error;
    return fs::is_directory(fs::symlink_status(path, error));
}

// Makes directories private to this namespace without creating or writing
// anything on the host's file systems. A directory that exists on the host
// is "shadowed": a tmpfs is mounted over it and each of its entries is bound
// (or, for symlinks, copied) back, except the names we are about to replace.
// One that does not exist is created inside its parent, made private first.
class PrivateTree {
public:
    explicit PrivateTree(std::set<fs::path> replaced) : replaced_(std::move(replaced)) {}

    void make_private(const fs::path& directory) {
        if (private_.count(directory) != 0) return;
        if (is_real_directory(directory)) {
            shadow(directory);
        } else {
            make_private(directory.parent_path());
            if (::mkdir(directory.c_str(), 0755) != 0 && errno != EEXIST) fail("mkdir " + directory.string());
        }
        private_.insert(directory);
    }

private:
    void shadow(const fs::path& directory) {
        struct stat info {};
        if (::stat(directory.c_str(), &info) != 0) fail("stat " + directory.string());
        std::vector<std::pair<std::string, fs::file_type>> entries;
        for (const auto& entry : fs::directory_iterator(directory)) {
            if (replaced_.count(entry.path()) != 0) continue;
            entries.emplace_back(entry.path().filename().string(), entry.symlink_status().type());
        }
        // The host's directory stays reachable through this descriptor once
        // the tmpfs covers its path.
        const int below = ::open(directory.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (below < 0) fail("open " + directory.string());
        char mode[32];
        std::snprintf(mode, sizeof mode, "mode=%04o", static_cast<unsigned>(info.st_mode & 07777));
        mount_tmpfs(directory, mode);
        const fs::path host = "/proc/self/fd/" + std::to_string(below);
        for (const auto& [name, type] : entries) bind_back(host / name, directory / name, type);
        ::close(below);
    }

    static void bind_back(const fs::path& source, const fs::path& target, fs::file_type type) {
        if (type == fs::file_type::symlink) {
            std::error_code error;
            const auto link = fs::read_symlink(source, error);
            if (error == std::errc::no_such_file_or_directory) return;  // removed since we listed it
            if (error || ::symlink(link.c_str(), target.c_str()) != 0) fail("copy symlink " + target.string());
            return;
        }
        if (type == fs::file_type::directory) {
            if (::mkdir(target.c_str(), 0755) != 0) fail("mkdir " + target.string());
        } else {
            const int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
            if (fd < 0) fail("create " + target.string());
            ::close(fd);
        }
        if (::mount(source.c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
            // The host removed it since we listed the directory: so be it.
            if (errno == ENOENT) {
                (void)::remove(target.c_str());
                return;
            }
            fail("bind " + target.string());
        }
    }

    std::set<fs::path> replaced_;
    std::set<fs::path> private_;
};

// The host's journald configuration is not ours to inherit: an admin's
// Storage= or SystemMaxUse= would change what the tests measure.
void hide_host_configuration() {
    if (fs::is_regular_file("/etc/systemd/journald.conf")) {
        if (::mount("/dev/null", "/etc/systemd/journald.conf", nullptr, MS_BIND, nullptr) != 0) {
            fail("hide /etc/systemd/journald.conf");
        }
    }
    for (const char* directory : {"/etc/systemd/journald.conf.d", "/usr/lib/systemd/journald.conf.d",
                                  "/lib/systemd/journald.conf.d", "/usr/local/lib/systemd/journald.conf.d"}) {
        if (is_real_directory(directory)) mount_tmpfs(directory, "mode=0755,size=1m");
    }
}

bool single_threaded() {
    std::size_t threads = 0;
    for ([[maybe_unused]] const auto& entry : fs::directory_iterator("/proc/self/task")) ++threads;
    return threads == 1;
}

bool connects(const char* path, int type) {
    const int fd = ::socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path, sizeof address.sun_path - 1);
    const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
    ::close(fd);
    return ok;
}

std::string dropin_text(const Options& options) {
    std::string text =
        "# Written by the iot-amqpd test harness (tests/support/private_journald.cpp) for the\n"
        "# journald of one test process, in its private mount namespace.\n"
        "[Journal]\n"
        "Storage=" +
        to_string(options.storage) +
        "\n"
        "# Every device message is one entry: the default rate limit would drop them silently.\n"
        "RateLimitIntervalSec=0\n"
        "RateLimitBurst=0\n"
        "# Nothing to or from the host: not its kernel log, syslog or users' terminals.\n"
        "ReadKMsg=no\n"
        "ForwardToSyslog=no\n"
        "ForwardToKMsg=no\n"
        "ForwardToConsole=no\n"
        "ForwardToWall=no\n";
    for (const auto& line : options.extra_journal_lines) text += line + "\n";
    return text;
}

}  // namespace

bool Options::operator==(const Options& other) const {
    return socket == other.socket && storage == other.storage && extra_journal_lines == other.extra_journal_lines &&
           journal_filesystem_bytes == other.journal_filesystem_bytes;
}

std::string to_string(SocketShape shape) { return shape == SocketShape::standalone ? "standalone" : "held_by_parent"; }

std::string to_string(Storage storage) {
    switch (storage) {
        case Storage::volatile_files: return "volatile";
        case Storage::persistent: return "persistent";
        case Storage::none: return "none";
        case Storage::automatic: return "auto";
    }
    return "volatile";
}

namespace {

void bring_up_loopback() {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) fail("socket for lo");
    ifreq request{};
    std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
    int r = ::ioctl(fd, SIOCGIFFLAGS, &request);
    if (r == 0) {
        request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP);
        r = ::ioctl(fd, SIOCSIFFLAGS, &request);
    }
    const int err = errno;
    ::close(fd);
    errno = err;
    if (r != 0) fail("bring up lo in the private network namespace");
}

}  // namespace

void enter_private_mount_namespace() {
    if (entered) return;
    if (::geteuid() != 0) {
        throw std::runtime_error(
            "the integration tests need root: each runs its own journald in a private mount namespace");
    }
    if (!single_threaded()) {
        throw std::runtime_error(
            "enter_private_mount_namespace: other threads exist (a mount namespace is per thread)");
    }
    // A network namespace of its own too: net.unix.max_dgram_qlen, the length
    // of journald's socket queue, belongs to the network namespace, and a
    // fresh one has the kernel's 10 on every machine, where a host booted by
    // systemd has 512 (the faults that fill journald's queue depend on it).
    // Only loopback exists in it, which is all the tests may use.
    if (::unshare(CLONE_NEWNS | CLONE_NEWNET) != 0) fail("unshare(CLONE_NEWNS | CLONE_NEWNET)");
    bring_up_loopback();
    // Without this, mounts below would propagate to the host's namespace
    // wherever / is a shared mount (systemd makes it shared at boot).
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) fail("make / rprivate");

    const std::vector<fs::path> fresh = {kSocketDirectory, kDropinDirectory, kRuntimeJournalDirectory,
                                         kSystemJournalDirectory};
    PrivateTree tree(std::set<fs::path>(fresh.begin(), fresh.end()));
    for (const auto& directory : fresh) tree.make_private(directory.parent_path());
    for (const auto& directory : fresh) {
        if (::mkdir(directory.c_str(), 0755) != 0) fail("mkdir " + directory.string());
    }
    for (const char* files : {kRuntimeJournalDirectory, kSystemJournalDirectory}) {
        mount_tmpfs(files, "mode=0755," + size_option(std::nullopt));
    }
    hide_host_configuration();
    entered = true;
}

bool in_private_mount_namespace() { return entered; }

std::optional<fs::path> journal_directory(const Options& options) {
    switch (options.storage) {
        case Storage::volatile_files: return fs::path(kRuntimeJournalDirectory);
        case Storage::persistent:
        case Storage::automatic: return fs::path(kSystemJournalDirectory);
        case Storage::none: return std::nullopt;
    }
    return std::nullopt;
}

PrivateJournald::PrivateJournald() = default;

PrivateJournald::~PrivateJournald() {
    stop();
    if (held_socket_ >= 0) ::close(held_socket_);
}

PrivateJournald& PrivateJournald::instance() {
    static PrivateJournald journald;
    return journald;
}

pid_t PrivateJournald::start(const Options& options) {
    if (!entered) throw std::runtime_error("PrivateJournald::start: enter_private_mount_namespace() first");
    if (::access(kJournaldProgram, X_OK) != 0) {
        throw std::runtime_error(std::string(kJournaldProgram) + " not found (apt-get install systemd)");
    }
    stop();
    apply_filesystem_size(options.journal_filesystem_bytes);
    write_file(kDropinPath, dropin_text(options),
               fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);
    // Persistent storage as on a booted system, where the flush has happened:
    // journald opens /var/log/journal at once instead of waiting for a
    // `journalctl --flush` that nobody here sends.
    const bool to_var = options.storage == Storage::persistent || options.storage == Storage::automatic;
    if (to_var) {
        write_file(kFlushedFlag, "");
    } else {
        ::unlink(kFlushedFlag);
    }
    prepare_socket(options.socket);
    {
        // A line per start, so the log reads as a history.
        std::FILE* log = std::fopen(kJournaldLogPath, "a");
        if (log != nullptr) {
            std::fprintf(log, "== harness: starting journald (%s socket, Storage=%s)\n",
                         to_string(options.socket).c_str(), to_string(options.storage).c_str());
            std::fclose(log);
        }
    }

    if (::symlink(kJournaldProgram, kJournaldAlias) != 0 && errno != EEXIST) fail(kJournaldAlias);
    SpawnOptions spawn;
    spawn.program = kJournaldAlias;
    spawn.stdout_file = kJournaldLogPath;
    spawn.stderr_file = kJournaldLogPath;
    // Its own diagnostics to our log file, never to the host's kernel log.
    spawn.extra_env = {{"SYSTEMD_LOG_TARGET", "console"}};
    spawn.removed_env = {"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM", "INVOCATION_ID"};
    spawn.listen_fd = options.socket == SocketShape::held_by_parent ? held_socket_ : -1;
    spawn.own_session = true;  // a terminal's Ctrl-C (scripts/demo.sh) must not stop it before the daemon
    process_ = std::make_unique<Subprocess>(spawn);
    options_ = options;

    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (true) {
        if (!process_->running()) {
            const auto status = process_->exit_status();
            process_.reset();
            throw std::runtime_error("journald exited at start (" + (status ? status->to_string() : "?") +
                                     "); its log:\n" + log_tail());
        }
        // The stdout socket is bound last of the two and only by journald
        // itself (the native one may be ours): both accepting means ready.
        if (connects(kSocketPath, SOCK_DGRAM) && connects(kStdoutSocketPath, SOCK_STREAM)) break;
        if (std::chrono::steady_clock::now() >= deadline) {
            throw std::runtime_error("journald " + std::to_string(process_->pid()) +
                                     " did not accept on its sockets within 10 s; its log:\n" + log_tail());
        }
        std::this_thread::sleep_for(5ms);
    }
    return process_->pid();
}

void PrivateJournald::stop() {
    if (!process_) return;
    if (!kill_and_wait(SIGTERM, 10s)) kill_and_wait(SIGKILL, 10s);
    process_.reset();
}

std::optional<pid_t> PrivateJournald::pid() {
    if (process_ && process_->running()) return process_->pid();
    return std::nullopt;
}

bool PrivateJournald::kill_and_wait(int signal_number, std::chrono::milliseconds timeout) {
    if (!process_ || !process_->running()) return true;
    if (signal_number != SIGKILL) process_->signal(SIGCONT);  // a stopped process would not act on it
    process_->signal(signal_number);
    return process_->wait_for(timeout).has_value();
}

std::string PrivateJournald::log_tail(std::size_t max_bytes) {
    const auto text = read_file(kJournaldLogPath).value_or("(no log)");
    return text.size() > max_bytes ? "..." + text.substr(text.size() - max_bytes) : text;
}

void PrivateJournald::prepare_socket(SocketShape shape) {
    if (shape == SocketShape::standalone) {
        if (held_socket_ >= 0) {
            ::close(held_socket_);
            held_socket_ = -1;
        }
        ::unlink(kSocketPath);  // journald binds its own (it would unlink a stale one too)
        return;
    }
    if (held_socket_ >= 0) return;  // held across restarts: that is the point
    ::unlink(kSocketPath);
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) fail("socket");
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, kSocketPath, sizeof address.sun_path - 1);
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        const int error = errno;
        ::close(fd);
        errno = error;
        fail(std::string("bind ") + kSocketPath);
    }
    ::chmod(kSocketPath, 0666);  // as systemd-journald.socket's SocketMode=
    held_socket_ = fd;
}

void PrivateJournald::apply_filesystem_size(const std::optional<std::uint64_t>& bytes) {
    for (const char* files : {kRuntimeJournalDirectory, kSystemJournalDirectory}) {
        if (::mount(nullptr, files, nullptr, MS_REMOUNT | MS_NOSUID | MS_NODEV, size_option(bytes).c_str()) != 0) {
            fail(std::string("remount ") + files + " with " + size_option(bytes) + " (smaller than what it holds?)");
        }
    }
}

}  // namespace iot::test::journald
