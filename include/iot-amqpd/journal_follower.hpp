// Reads the daemon's own journal entries back as journald stores them, so a
// delivery is accepted only once its entry is readable (DESIGN.md §6,
// "acknowledged means stored").
//
// Every entry a JournaldSink writes carries two fields: IOT_RUN, this
// process's run id (random, the same for all its writers), and IOT_SEQ,
// "<writer>.<datagram>" (which writer sent it, and the number of the datagram
// that carried it). One follower per process matches IOT_RUN, follows the
// journal and hands each writer the datagram numbers of its entries it found.
//
// Passes: the follower reads the journal in passes, each from where the last
// stopped to the end, after sd_journal_process() (which notices new, rotated
// and deleted files). A writer that knows journald has finished with some of
// its entries takes a ticket; once a pass begun after the ticket completed,
// every stored one of those entries has been found (journald writes an entry
// before it reads the next datagram, and readers see it at once through the
// shared mapping). The rest were dropped.
//
// Thread: the follower's own thread owns the sd_journal (one per thread, for
// life). register_writer(), ticket(), pass_done_since() and want_pass() are
// thread-safe; a WriterLedger is shared by the follower and one writer.
#pragma once

#include <systemd/sd-journal.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace iot {

inline constexpr const char* kRunField = "IOT_RUN";
inline constexpr const char* kSeqField = "IOT_SEQ";

// What the follower found of one writer's entries.
class WriterLedger {
public:
    explicit WriterLedger(std::uint32_t writer) : writer_(writer) {}
    [[nodiscard]] std::uint32_t writer() const { return writer_; }
    // Follower thread: datagram numbers found in the journal.
    void found(const std::vector<std::uint64_t>& datagrams);
    // Writer thread: moves what was found since the last call into `out` (cleared first).
    void take(std::vector<std::uint64_t>& out);

private:
    const std::uint32_t writer_;
    std::mutex mutex_;
    std::vector<std::uint64_t> found_;
};

// What the journal directories show, for explaining why nothing is read back.
struct JournalAccess {
    bool any_file = false;         // a *.journal file exists under /run/log/journal or /var/log/journal
    bool unreadable_file = false;  // one of them cannot be opened by this process
    std::string unreadable_path;   // the first such file
};

// Which of `datagrams` (of `writer`, in the run of `run_field`) the journal
// holds, looked up afresh: the check before an entry the follower did not
// find is taken for dropped and written again. Any thread; opens its own
// sd_journal for the call.
[[nodiscard]] std::vector<std::uint64_t> lookup_stored(const std::string& run_field, std::uint32_t writer,
                                                       const std::vector<std::uint64_t>& datagrams);

// sd_journal_open(), one call at a time in the process (see the definition),
// with `flags`; and with the flags this daemon reads its own entries with.
int open_journal_serialized(sd_journal** journal, int flags);
int open_own_journal(sd_journal** journal);

class JournalFollower {
public:
    // Opens the local system journal (and the user's own, for a UID >= 1000)
    // matching this run's entries, and starts following. Throws
    // std::runtime_error when sd-journal cannot open it at all.
    JournalFollower();
    ~JournalFollower();
    JournalFollower(const JournalFollower&) = delete;
    JournalFollower& operator=(const JournalFollower&) = delete;

    // "IOT_RUN=<run id>" for this process, ready to put in an entry.
    [[nodiscard]] const std::string& run_field() const { return run_field_; }
    // A ledger for a new writer (numbered 1, 2, ...; the number goes into IOT_SEQ).
    [[nodiscard]] std::shared_ptr<WriterLedger> register_writer();

    // Passes begun so far: hold it, then ask pass_done_since(ticket).
    [[nodiscard]] std::uint64_t ticket() const { return started_.load(std::memory_order_acquire); }
    // True once a pass begun after `ticket` was taken has completed and handed over what it found.
    [[nodiscard]] bool pass_done_since(std::uint64_t ticket) const {
        return completed_.load(std::memory_order_acquire) > ticket;
    }
    // A writer waits for entries: keep passing (every kPassInterval) until nobody asks.
    void want_pass();

    // Passes completed; for diagnostics and tests.
    [[nodiscard]] std::uint64_t passes() const { return completed_.load(std::memory_order_relaxed); }
    // Looks at the journal directories (any thread; reads the file system only).
    [[nodiscard]] static JournalAccess access();

private:
    void run();
    void pass();

    struct Journal;  // the sd_journal, touched by the follower thread only
    std::unique_ptr<Journal> journal_;
    std::string run_field_;

    std::mutex writers_mutex_;
    std::map<std::uint32_t, std::weak_ptr<WriterLedger>> writers_;
    std::uint32_t next_writer_ = 1;

    std::atomic<std::uint64_t> started_{0};
    std::atomic<std::uint64_t> completed_{0};
    std::mutex wake_mutex_;
    std::condition_variable wake_;
    bool wanted_ = false;  // under wake_mutex_
    bool stop_ = false;    // under wake_mutex_
    std::atomic<bool> wanted_hint_{false};
    std::thread thread_;
};

}  // namespace iot
