// A systemd-journald of the test process's own, in a private mount namespace:
// the host's journald, its configuration and its journal are never touched.
//
// enter_private_mount_namespace() makes journald's paths private to this
// process and its children: a tmpfs each over /run/systemd/journal (sockets),
// /run/systemd/journald.conf.d (our drop-in), /run/log/journal and
// /var/log/journal (journal files), and the host's journald.conf and drop-in
// directories hidden. Where a path does not exist on the host (a machine
// where journald never ran has no /run/systemd/journal), its nearest existing
// parent is covered by a tmpfs into which the host's entries are bound back,
// so no directory is ever created on the host's file systems. PrivateJournald
// then starts, stops and restarts /lib/systemd/systemd-journald there, either
// owning its socket or handed one we hold (as PID 1 does under systemd).
//
// Everything started afterwards (the daemon under test, journalctl, the
// emulator) inherits the namespace and so writes to and reads from the
// private journal.
//
// Thread: the mount namespace is per thread, so enter it from the main thread
// before any other thread exists; PrivateJournald belongs to that thread too
// (its journald child is killed by PR_SET_PDEATHSIG when that thread exits).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace iot::test {
class Subprocess;
}

namespace iot::test::journald {

// journald's well-known paths, private once the namespace is entered.
inline constexpr const char* kSocketPath = "/run/systemd/journal/socket";
inline constexpr const char* kStdoutSocketPath = "/run/systemd/journal/stdout";
inline constexpr const char* kSocketDirectory = "/run/systemd/journal";
inline constexpr const char* kRuntimeJournalDirectory = "/run/log/journal";  // Storage=volatile (and before a flush)
inline constexpr const char* kSystemJournalDirectory = "/var/log/journal";   // Storage=persistent / auto
inline constexpr const char* kDropinDirectory = "/run/systemd/journald.conf.d";
// Sorts after any other drop-in name, so our settings win even where a
// drop-in directory could not be hidden.
inline constexpr const char* kDropinPath = "/run/systemd/journald.conf.d/zz-iot-amqpd-tests.conf";
// journald's stderr (its own diagnostics), appended across restarts.
inline constexpr const char* kJournaldLogPath = "/run/systemd/journal-harness.log";
// journald is started through this symlink, so its process name (comm) is
// "iot-test-journa", not "systemd-journal": whatever finds the system's
// journald by name (pgrep systemd-journal, a script that restarts it) never
// takes a test's journald for it, nor the other way round.
inline constexpr const char* kJournaldAlias = "/run/systemd/iot-test-journald";

enum class SocketShape {
    // journald creates and binds its native socket itself: killing it takes
    // the datagrams queued there along, and writers see ECONNREFUSED until
    // the next journald binds a new socket (a journald without systemd).
    standalone,
    // We bind the native socket and hand it to journald by socket activation
    // (LISTEN_FDS=1, fd 3), keeping our copy: a killed journald's queue stays,
    // writers block rather than fail, and the next journald reads what was
    // queued (journald under systemd, whose PID 1 holds the socket).
    held_by_parent,
};

// journald.conf's Storage=.
enum class Storage { volatile_files, persistent, none, automatic };

struct Options {
    SocketShape socket = SocketShape::standalone;
    Storage storage = Storage::volatile_files;
    // More lines for the [Journal] section, e.g. "MaxLevelStore=warning".
    // Written after ours, so they can override them too.
    std::vector<std::string> extra_journal_lines;
    // size= of each of the two tmpfs holding journal files
    // (kRuntimeJournalDirectory, kSystemJournalDirectory), in bytes; nullopt
    // is tmpfs's default (half of RAM). A test fills one with a filler file to
    // simulate a full /run or /var. Changing it keeps the files (remount).
    std::optional<std::uint64_t> journal_filesystem_bytes;

    bool operator==(const Options& other) const;
    bool operator!=(const Options& other) const { return !(*this == other); }
};

[[nodiscard]] std::string to_string(SocketShape shape);
[[nodiscard]] std::string to_string(Storage storage);

// Unshares the mount namespace of the calling thread (which must be the only
// one: the namespace is per thread), makes every mount private and sets up
// the paths above. Needs root (CAP_SYS_ADMIN). Throws std::runtime_error.
// Calling it again is a no-op.
void enter_private_mount_namespace();
[[nodiscard]] bool in_private_mount_namespace();

// The directory journald writes its files to with these options: the
// runtime one for Storage=volatile, the system one for persistent/auto
// (flushed: see PrivateJournald::start), none for Storage=none.
[[nodiscard]] std::optional<std::filesystem::path> journal_directory(const Options& options);

// The journald of this namespace. One per process (see instance()).
class PrivateJournald {
public:
    PrivateJournald();
    ~PrivateJournald();
    PrivateJournald(const PrivateJournald&) = delete;
    PrivateJournald& operator=(const PrivateJournald&) = delete;
    PrivateJournald(PrivateJournald&&) = delete;
    PrivateJournald& operator=(PrivateJournald&&) = delete;

    // Writes the drop-in, applies the tmpfs size, prepares the socket for the
    // shape, starts journald and waits (10 s at most) until its native and
    // stdout sockets accept. Stops a running one first (SIGTERM). Throws
    // std::runtime_error with journald's own diagnostics when it fails.
    pid_t start(const Options& options);
    // Stops journald (SIGTERM, then SIGKILL after 10 s) and reaps it. The
    // held socket, if any, stays open. No-op when none runs.
    void stop();

    // Its PID while it runs (a stopped, i.e. paused, journald runs).
    [[nodiscard]] std::optional<pid_t> pid();
    [[nodiscard]] const Options& options() const noexcept { return options_; }

    // Sends a signal; when it ends the process, waits (bounded) and reaps it.
    // False when it did not end within `timeout`.
    bool kill_and_wait(int signal_number, std::chrono::milliseconds timeout);

    // The last `max_bytes` of journald's stderr, for failure messages.
    [[nodiscard]] static std::string log_tail(std::size_t max_bytes = 2000);

    // The instance of this process (made on first use).
    static PrivateJournald& instance();

private:
    void prepare_socket(SocketShape shape);
    void apply_filesystem_size(const std::optional<std::uint64_t>& bytes);

    Options options_;
    std::unique_ptr<Subprocess> process_;
    int held_socket_ = -1;  // bound to kSocketPath while the shape is held_by_parent
};

}  // namespace iot::test::journald
