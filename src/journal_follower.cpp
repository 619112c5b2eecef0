#include "iot-amqpd/journal_follower.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-id128.h>
#include <systemd/sd-journal.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "iot-amqpd/errno_text.hpp"

namespace iot {
namespace {

constexpr std::uint32_t kUserUidFloor = 1000;
// Reopen the follower's journal after this many of its entries (and not more often
// than kMinOpenTime): see Journal::worth_reopening(). Groups' entries interleave, so
// each follower touches the pages of every group's entries between its own: with
// 4 groups, 2048 of its own was ~12 MiB of mapped journal per group, the RSS
// swing the soak saw (27 MiB over an hour).
constexpr std::uint64_t kReopenAfterEntries = 256;
constexpr auto kMinOpenTime = std::chrono::milliseconds(50);
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

// "IOT_SEQ=<datagram>" -> the number; false when malformed.
bool parse_seq(const void* data, std::size_t length, std::uint64_t& datagram) {
    std::string_view field(static_cast<const char*>(data), length);
    const std::string_view prefix = "IOT_SEQ=";
    if (field.substr(0, prefix.size()) != prefix) return false;
    field.remove_prefix(prefix.size());
    const char* end = field.data() + field.size();
    auto [last, error] = std::from_chars(field.data(), end, datagram);
    return error == std::errc() && last == end;
}

}  // namespace

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

// Matching on IOT_SEQ (values shared by every run's entries of that number)
// and IOT_RUN (this run's) walks no long entry array: this stays exact where
// following the journal while journald appends may not (systemd 252's
// bisection of arrays being filled). sd-journal ORs the IOT_SEQ matches and
// ANDs the result with the IOT_RUN match.
std::vector<std::uint64_t> lookup_stored(const std::string& run_id, const std::vector<std::uint64_t>& datagrams) {
    std::vector<std::uint64_t> stored;
    if (datagrams.empty()) return stored;
    JournalHandle handle;
    int r = open_own_journal(&handle.j);
    std::string match;
    for (std::size_t i = 0; r >= 0 && i < datagrams.size(); ++i) {
        match = std::string(kSeqField) + "=" + std::to_string(datagrams[i]);
        r = sd_journal_add_match(handle.j, match.data(), match.size());
    }
    match = std::string(kRunField) + "=" + run_id;
    if (r >= 0) r = sd_journal_add_match(handle.j, match.data(), match.size());
    if (r < 0) return stored;
    while (sd_journal_next(handle.j) > 0) {
        const void* data = nullptr;
        std::size_t length = 0;
        std::uint64_t datagram = 0;
        if (sd_journal_get_data(handle.j, kSeqField, &data, &length) >= 0 && parse_seq(data, length, datagram))
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

    // Opens the active files with `match` ("IOT_RUN=...") and places the
    // journal after `after` (a cursor; "" = before the first entry). 0 or a negative errno.
    int open(const std::string& match, const std::string& after) {
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
        if (r >= 0) r = sd_journal_add_match(j, match.data(), match.size());
        if (r >= 0) r = after.empty() ? sd_journal_seek_head(j) : sd_journal_seek_cursor(j, after.c_str());
        current_unread = false;
        if (r >= 0 && !after.empty()) {
            // Onto the cursor's entry, or (it is in a file no longer open) onto the first one after it.
            r = sd_journal_next(j);
            if (r > 0) current_unread = sd_journal_test_cursor(j, after.c_str()) <= 0;
        }
        // No sd_journal_get_fd(): the file check (files_changed()) is what notices new and
        // rotated files, and appends are read through the mapping. The descriptor would be
        // an inotify instance, and closing one waits for the kernel's SRCU grace period
        // (fsnotify_destroy_group): measured ~10 ms a close, with a reopen every 50 ms at
        // full rate, so the group thread stood still a fifth of the time.
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

JournalFollower::JournalFollower()
    : journal_(std::make_unique<Journal>()), run_id_(random_run_id()), match_(std::string(kRunField) + "=" + run_id_) {
    // The run id is new, so no entry matches yet: from the head there is nothing to skip.
    if (const int r = journal_->open(match_, ""); r < 0)
        throw std::runtime_error("cannot open the journal to read entries back: " + errno_text(-r));
}

JournalFollower::~JournalFollower() = default;

// Appends are seen through the shared mapping (sd-journal looks at a file's
// size again when an offset lies beyond it); new and rotated files are what
// the file check is for (every kFilesCheckInterval, and before every count a
// verdict rests on), and a reopen is what closes a file journald deleted. When journald
// rotated, the open journal is read to its end first (the archived file's
// last entries), then reopened on the new file after the last entry counted.
FoundEntries JournalFollower::count(bool for_verdict) {
    FoundEntries found;
    Journal& journal = *journal_;
    if (journal.j == nullptr && journal.open(match_, journal.cursor) < 0)
        return found;  // not complete: no verdict on anything until it opens again
    const bool check = journal.check_due() || for_verdict;
    const bool changed = check && journal.files_changed();
    found.complete = count_to_end(found);
    if (changed) {
        if (journal.open(match_, journal.cursor) < 0) {
            found.complete = false;
            return found;
        }
        found.complete = count_to_end(found) && found.complete;
    }
    // An entry the reopened journal skipped is looked up once more (lookup_stored), never lost.
    if (found.complete && journal.worth_reopening()) (void)journal.open(match_, journal.cursor);
    return found;
}

// Adds what the open journal holds after the last entry counted to `found`;
// true when it got to the end.
bool JournalFollower::count_to_end(FoundEntries& found) {
    Journal& journal = *journal_;
    sd_journal* j = journal.j;
    std::uint64_t counted = 0;
    std::uint64_t newest_monotonic = last_monotonic_;
    // journald's monotonic receive time only grows; a copy made by a flush to
    // /var keeps its original's, so an entry not after the newest one counted
    // makes the count uncertain (it may hold a copy in place of a drop).
    const auto count_current = [&] {
        std::uint64_t monotonic = 0;
        sd_id128_t boot{};
        if (sd_journal_get_monotonic_usec(j, &monotonic, &boot) < 0 || monotonic <= newest_monotonic)
            found.uncertain = true;
        else
            newest_monotonic = monotonic;
        ++counted;
    };
    if (journal.current_unread) count_current();
    journal.current_unread = false;
    int r = 0;
    while ((r = sd_journal_next(j)) > 0) count_current();
    bool complete = r == 0;

    // The last entry's number. An entry journald is still writing can be
    // unreadable for a moment: step back and leave it for the next count;
    // never skip it, or it would be taken for dropped and written twice.
    while (counted > 0) {
        const void* data = nullptr;
        std::size_t length = 0;
        std::uint64_t monotonic = 0;
        sd_id128_t boot{};
        if (sd_journal_get_data(j, kSeqField, &data, &length) >= 0 && parse_seq(data, length, found.last) &&
            sd_journal_get_monotonic_usec(j, &monotonic, &boot) >= 0) {
            last_monotonic_ = std::max(last_monotonic_, monotonic);
            break;
        }
        (void)sd_journal_previous(j);
        --counted;
        found.uncertain = true;  // the count may have judged a copy by the entry left out
        complete = false;
    }
    if (counted == 0) return complete;
    found.count += counted;
    journal.read_since_open += counted;
    char* cursor = nullptr;
    if (sd_journal_get_cursor(j, &cursor) >= 0) {
        journal.cursor = cursor;
        std::free(cursor);  // NOLINT(cppcoreguidelines-no-malloc): sd-journal allocates it with malloc
    }
    return complete;
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
