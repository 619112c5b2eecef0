#include "iot-amqpd/journal_follower.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-id128.h>
#include <systemd/sd-journal.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <future>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "iot-amqpd/errno_text.hpp"

namespace iot {
namespace {

// While writers wait, a pass at most this often: it batches what journald
// wrote meanwhile, and keeps the follower's CPU small next to journald's.
constexpr auto kPassInterval = std::chrono::microseconds(250);
// With nobody waiting, a pass this often anyway, so rotated and deleted
// journal files are noticed and closed.
constexpr auto kIdlePass = std::chrono::seconds(1);
constexpr std::uint32_t kUserUidFloor = 1000;
// Reopen the follower's journal after this many entries (and not more often
// than kMinOpenTime): see Journal::worth_reopening().
constexpr std::uint64_t kReopenAfterEntries = 2048;
constexpr auto kMinOpenTime = std::chrono::milliseconds(500);
// How often a pass checks whether journald rotated or began a file.
constexpr auto kFilesCheckInterval = std::chrono::milliseconds(50);

std::string random_run_id() {
    std::uint64_t bits = 0;
    if (::getrandom(&bits, sizeof bits, 0) != static_cast<ssize_t>(sizeof bits)) {
        // Unique enough per boot without the entropy pool: PID and start time.
        bits = (static_cast<std::uint64_t>(::getpid()) << 40) ^
               static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string id(16, '0');
    for (std::size_t i = 0; i < id.size(); ++i) id[i] = kHex[(bits >> (60 - 4 * i)) & 0xF];
    return id;
}

// "IOT_SEQ=<writer>.<datagram>" -> both numbers; false when malformed.
bool parse_seq(std::string_view field, std::uint32_t& writer, std::uint64_t& datagram) {
    const std::string_view prefix = "IOT_SEQ=";
    if (field.substr(0, prefix.size()) != prefix) return false;
    field.remove_prefix(prefix.size());
    const char* end = field.data() + field.size();
    auto [dot, e1] = std::from_chars(field.data(), end, writer);
    if (e1 != std::errc() || dot == end || *dot != '.') return false;
    auto [last, e2] = std::from_chars(dot + 1, end, datagram);
    return e2 == std::errc() && last == end;
}

}  // namespace

void WriterLedger::found(const std::vector<std::uint64_t>& datagrams) {
    const std::lock_guard<std::mutex> lock(mutex_);
    found_.insert(found_.end(), datagrams.begin(), datagrams.end());
}

void WriterLedger::take(std::vector<std::uint64_t>& out) {
    out.clear();
    const std::lock_guard<std::mutex> lock(mutex_);
    out.swap(found_);
}

namespace {

// Two concurrent first calls of sd_journal_open race on a libsystemd global
// (the random key its hashmaps share, filled by getrandom; ThreadSanitizer
// reports it): one open at a time, process-wide.
std::mutex& journal_open_mutex() {
    static std::mutex mutex;
    return mutex;
}

}  // namespace

int open_journal_serialized(sd_journal** journal, int flags) {
    const std::lock_guard<std::mutex> lock(journal_open_mutex());
    return sd_journal_open(journal, flags);
}

namespace {

int open_files_serialized(sd_journal** journal, const char** paths) {
    const std::lock_guard<std::mutex> lock(journal_open_mutex());
    return sd_journal_open_files(journal, paths, 0);
}

}  // namespace

int open_own_journal(sd_journal** journal) {
    int flags = SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM;
    if (::getuid() >= kUserUidFloor) flags |= SD_JOURNAL_CURRENT_USER;  // where journald puts a user's entries
    return open_journal_serialized(journal, flags);
}

namespace {

struct JournalHandle {
    sd_journal* j = nullptr;
    JournalHandle() = default;
    JournalHandle(const JournalHandle&) = delete;
    JournalHandle& operator=(const JournalHandle&) = delete;
    ~JournalHandle() {
        if (j != nullptr) sd_journal_close(j);
    }
};

}  // namespace

// Each IOT_SEQ value names one entry (two after journald copies the runtime
// journal to /var), so matching only on it walks no long entry array: this
// stays exact where following the journal while journald appends may not
// (systemd 252's bisection of arrays being filled). IOT_RUN is then compared,
// since another run of the daemon used the same numbers.
std::vector<std::uint64_t> lookup_stored(const std::string& run_field, std::uint32_t writer,
                                         const std::vector<std::uint64_t>& datagrams) {
    std::vector<std::uint64_t> stored;
    if (datagrams.empty()) return stored;
    JournalHandle handle;
    int r = open_own_journal(&handle.j);
    std::string match;
    for (std::size_t i = 0; r >= 0 && i < datagrams.size(); ++i) {
        match = std::string(kSeqField) + "=" + std::to_string(writer) + "." + std::to_string(datagrams[i]);
        r = sd_journal_add_match(handle.j, match.data(), match.size());
    }
    if (r < 0) return stored;
    const std::string_view run(run_field);
    while (sd_journal_next(handle.j) > 0) {
        const void* data = nullptr;
        std::size_t length = 0;
        if (sd_journal_get_data(handle.j, kRunField, &data, &length) < 0) continue;
        if (std::string_view(static_cast<const char*>(data), length) != run) continue;
        if (sd_journal_get_data(handle.j, kSeqField, &data, &length) < 0) continue;
        std::uint32_t found_writer = 0;
        std::uint64_t datagram = 0;
        if (parse_seq(std::string_view(static_cast<const char*>(data), length), found_writer, datagram) &&
            found_writer == writer)
            stored.push_back(datagram);
    }
    return stored;
}

// The journal files journald appends to now: the system journal under /run
// and /var (and the user's own, for a UID >= 1000). Archived files never get
// another entry, and sd-journal looks at every open file for each step, so
// following only these is what keeps a pass cheap on a host with a long journal.
struct ActiveFiles {
    std::vector<std::string> paths;
    std::vector<std::pair<dev_t, ino_t>> ids;
    bool operator==(const ActiveFiles& other) const { return ids == other.ids; }
};

ActiveFiles active_files() {
    ActiveFiles files;
    sd_id128_t machine{};
    if (sd_id128_get_machine(&machine) < 0) return files;
    char id[SD_ID128_STRING_MAX];
    sd_id128_to_string(machine, id);
    std::vector<std::string> candidates = {std::string("/run/log/journal/") + id + "/system.journal",
                                           std::string("/var/log/journal/") + id + "/system.journal"};
    if (::getuid() >= kUserUidFloor)
        candidates.push_back(std::string("/var/log/journal/") + id + "/user-" + std::to_string(::getuid()) +
                             ".journal");
    for (auto& path : candidates) {
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0) continue;
        files.ids.emplace_back(st.st_dev, st.st_ino);
        files.paths.push_back(std::move(path));
    }
    return files;
}

struct JournalFollower::Journal {
    sd_journal* j = nullptr;
    ActiveFiles files;            // what is open; empty: every file (none was active yet)
    std::string cursor;           // of the last entry read; where a reopened journal goes on
    bool current_unread = false;  // a reopen placed the journal on an entry not read yet
    std::uint64_t read_since_open = 0;
    std::chrono::steady_clock::time_point opened_at{};
    std::chrono::steady_clock::time_point files_checked_at{};

    Journal() = default;
    Journal(const Journal&) = delete;
    Journal& operator=(const Journal&) = delete;
    ~Journal() { close(); }

    void close() {
        if (j != nullptr) sd_journal_close(j);
        j = nullptr;
    }

    // Opens the active files matching `run_field` and places the journal
    // after `after` (a cursor; "" = before the first entry). 0 or a negative errno.
    int open(const std::string& run_field, const std::string& after) {
        close();
        files = active_files();
        int r = 0;
        if (files.paths.empty()) {
            r = open_own_journal(&j);
        } else {
            std::vector<const char*> paths;
            for (const auto& path : files.paths) paths.push_back(path.c_str());
            paths.push_back(nullptr);
            r = open_files_serialized(&j, paths.data());
        }
        if (r >= 0) r = sd_journal_add_match(j, run_field.data(), run_field.size());
        if (r >= 0) r = after.empty() ? sd_journal_seek_head(j) : sd_journal_seek_cursor(j, after.c_str());
        current_unread = false;
        if (r >= 0 && !after.empty()) {
            // Onto the cursor's entry, or (it is in a file no longer open) onto the first one after it.
            r = sd_journal_next(j);
            if (r > 0) current_unread = sd_journal_test_cursor(j, after.c_str()) <= 0;
        }
        // Without the descriptor (inotify), sd_journal_process() never notices changes.
        if (r >= 0) r = sd_journal_get_fd(j);
        read_since_open = 0;
        opened_at = files_checked_at = std::chrono::steady_clock::now();
        if (r < 0) close();  // the next pass tries again
        return r < 0 ? r : 0;
    }

    // Time to look at the files again (every kFilesCheckInterval).
    [[nodiscard]] bool check_due() {
        const auto now = std::chrono::steady_clock::now();
        if (now - files_checked_at < kFilesCheckInterval) return false;
        files_checked_at = now;
        return true;
    }
    // journald rotated a file, or began one (the first entry, a flush to /var).
    [[nodiscard]] bool files_changed() const { return !(active_files() == files); }

    // Every page of the journal a pass reads stays mapped, and counts in this
    // process's RSS, until sd-journal drops its window: following a busy
    // journal for long would look like hundreds of MiB. A reopen drops them.
    [[nodiscard]] bool worth_reopening() const {
        return read_since_open >= kReopenAfterEntries && std::chrono::steady_clock::now() - opened_at >= kMinOpenTime;
    }
};

JournalFollower::JournalFollower() : run_field_(std::string(kRunField) + "=" + random_run_id()) {
    std::promise<void> opened;
    std::future<void> result = opened.get_future();
    thread_ = std::thread([this, &opened] {
        // Opened, used and closed on this thread only.
        auto journal = std::make_unique<Journal>();
        // The run id is new, so no entry matches yet: from the head there is nothing to skip.
        if (const int r = journal->open(run_field_, ""); r < 0) {
            opened.set_exception(std::make_exception_ptr(
                std::runtime_error("cannot open the journal to read entries back: " + errno_text(-r))));
            return;
        }
        journal_ = std::move(journal);
        opened.set_value();
        run();
        journal_.reset();
    });
    try {
        result.get();
    } catch (...) {
        thread_.join();
        throw;
    }
}

JournalFollower::~JournalFollower() {
    {
        const std::lock_guard<std::mutex> lock(wake_mutex_);
        stop_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
}

std::shared_ptr<WriterLedger> JournalFollower::register_writer() {
    const std::lock_guard<std::mutex> lock(writers_mutex_);
    auto ledger = std::make_shared<WriterLedger>(next_writer_++);
    writers_[ledger->writer()] = ledger;
    return ledger;
}

void JournalFollower::want_pass() {
    if (wanted_hint_.exchange(true, std::memory_order_acq_rel)) return;  // asked already, not yet taken
    {
        const std::lock_guard<std::mutex> lock(wake_mutex_);
        wanted_ = true;
    }
    wake_.notify_one();
}

void JournalFollower::run() {
    for (;;) {
        {
            std::unique_lock<std::mutex> lock(wake_mutex_);
            wake_.wait_for(lock, kIdlePass, [this] { return wanted_ || stop_; });
            if (stop_) return;
            // The hint first: a writer that finds it still set knows this pass has not begun.
            wanted_hint_.store(false, std::memory_order_release);
            wanted_ = false;
        }
        pass();
        std::this_thread::sleep_for(kPassInterval);  // a rate limit, not a wait for anything
    }
}

void JournalFollower::pass() {
    const std::uint64_t number = started_.fetch_add(1, std::memory_order_acq_rel) + 1;
    // Appends are seen through the shared mapping without sd_journal_process();
    // new and rotated files are what the check every kFilesCheckInterval is
    // for, and sd_journal_process() runs with it to close deleted files.
    const bool check = journal_->j == nullptr || journal_->check_due();
    if (check && (journal_->j == nullptr || journal_->files_changed()) &&
        journal_->open(run_field_, journal_->cursor) < 0)
        return;
    sd_journal* j = journal_->j;
    if (check) (void)sd_journal_process(j);
    std::map<std::uint32_t, std::vector<std::uint64_t>> found;
    // Takes the current entry's sequence number; false when it could not be
    // read (the reader can meet an object journald is still writing): then
    // the journal steps back so the next pass reads it again, never skips it,
    // or it would later be taken for dropped and written twice.
    const auto take_current = [&] {
        const void* data = nullptr;
        std::size_t length = 0;
        const int got = sd_journal_get_data(j, kSeqField, &data, &length);
        if (got == -ENOENT) return true;  // one of our entries without a sequence number: not ours to track
        if (got < 0) {
            (void)sd_journal_previous(j);
            return false;
        }
        std::uint32_t writer = 0;
        std::uint64_t datagram = 0;
        if (parse_seq(std::string_view(static_cast<const char*>(data), length), writer, datagram))
            found[writer].push_back(datagram);
        ++journal_->read_since_open;
        return true;
    };
    // A pass is complete only when it reached the end.
    bool complete = false;
    bool readable = !journal_->current_unread || take_current();
    journal_->current_unread = false;
    while (readable) {
        const int r = sd_journal_next(j);
        if (r == 0) {
            complete = true;
            break;
        }
        readable = r > 0 && take_current();
    }
    if (complete && journal_->read_since_open > 0) {
        char* cursor = nullptr;
        if (sd_journal_get_cursor(j, &cursor) >= 0) {
            journal_->cursor = cursor;
            std::free(cursor);  // NOLINT(cppcoreguidelines-no-malloc): sd-journal allocates it with malloc
        }
    }
    if (!found.empty()) {
        const std::lock_guard<std::mutex> lock(writers_mutex_);
        for (auto& [writer, datagrams] : found) {
            const auto it = writers_.find(writer);
            if (it == writers_.end()) continue;
            if (auto ledger = it->second.lock())
                ledger->found(datagrams);
            else
                writers_.erase(it);  // its group stopped
        }
    }
    if (complete) completed_.store(number, std::memory_order_release);
    // After a complete pass, so the pass counts; an entry the reopened journal
    // skipped would only be looked up once more (lookup_stored), never lost.
    if (complete && journal_->worth_reopening() && !journal_->cursor.empty())
        (void)journal_->open(run_field_, journal_->cursor);
}

JournalAccess JournalFollower::access() {
    JournalAccess result;
    namespace fs = std::filesystem;
    for (const char* root : {"/run/log/journal", "/var/log/journal"}) {
        std::error_code ec;
        for (fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec), end;
             !ec && it != end; it.increment(ec)) {
            if (it.depth() > 1 || it->path().extension() != ".journal") continue;
            result.any_file = true;
            const int fd = ::open(it->path().c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
            if (fd >= 0) {
                ::close(fd);
            } else if (!result.unreadable_file) {
                result.unreadable_file = true;
                result.unreadable_path = it->path().string();
            }
        }
    }
    return result;
}

}  // namespace iot
