// Reads one writer's journal entries back as journald stores them, so a
// delivery is accepted only once its entry is readable (DESIGN.md §6,
// "acknowledged means stored").
//
// Every entry a JournaldSink writes carries two fields: IOT_RUN, a random id
// of that writer's run (a group's sink, new whenever the group starts), and
// IOT_SEQ, the number of the datagram that carried the entry. The writer's
// follower keeps an sd_journal matching its IOT_RUN and counts the entries
// each call finds; it reads IOT_SEQ of the last one only. journald stores one
// writer's entries in the order they were sent, so "N entries, the last
// datagram D" tells the writer exactly which are stored whenever N equals
// what it sent up to D (StoreTracker::found()). Reading a field costs
// sd-journal a walk over every field of the entry (about 20 000 instructions
// for the daemon's); counting costs a step along the match's entry array.
//
// A count begun after journald finished with some entries (journald writes
// an entry before it reads the next datagram, and readers see it at once
// through the shared mapping) has seen every stored one of them. The rest
// were dropped, or were in a count that did not add up: those are looked up
// one by one (lookup_stored()).
//
// Thread: owned by one thread (the group's, through its sink): sd_journal is
// used from one thread for its life.
#pragma once

#include <systemd/sd-journal.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace iot {

inline constexpr const char* kRunField = "IOT_RUN";
inline constexpr const char* kSeqField = "IOT_SEQ";

// One count of a writer's entries: `count` entries after the last count, the
// last of them datagram `last`; `uncertain` when the count may include a copy
// of an earlier entry (journald copies the runtime journal to /var on a
// flush); `complete` when it reached the end of the journal.
struct FoundEntries {
    std::uint64_t count = 0;
    std::uint64_t last = 0;
    bool uncertain = false;
    bool complete = false;
};

// What the journal directories show, for explaining why nothing is read back.
struct JournalAccess {
    bool any_file = false;         // a *.journal file exists under /run/log/journal or /var/log/journal
    bool unreadable_file = false;  // one of them cannot be opened by this process
    std::string unreadable_path;   // the first such file
};

// Which of `datagrams` of the writer whose IOT_RUN is `run_id` the journal
// holds, looked up afresh: the check before an entry the follower did not
// count is taken for dropped and written again. Any thread; opens its own
// sd_journal for the call.
[[nodiscard]] std::vector<std::uint64_t> lookup_stored(const std::string& run_id,
                                                       const std::vector<std::uint64_t>& datagrams);

// sd_journal_open(), one call at a time in the process (see the definition),
// with `flags`; and with the flags this daemon reads its own entries with.
int open_journal_serialized(sd_journal** journal, int flags);
int open_own_journal(sd_journal** journal);

class JournalFollower {
public:
    // Opens the journal files journald appends to, matching a new run id.
    // Throws std::runtime_error when sd-journal cannot open the journal at all.
    JournalFollower();
    ~JournalFollower();
    JournalFollower(const JournalFollower&) = delete;
    JournalFollower& operator=(const JournalFollower&) = delete;

    // The value of this writer's IOT_RUN.
    [[nodiscard]] const std::string& run_id() const { return run_id_; }
    // Counts this run's entries from where the last call stopped to the end
    // of the journal. `for_verdict`: entries not counted will be taken for
    // dropped (looked up first), so look for a rotated file first.
    [[nodiscard]] FoundEntries count(bool for_verdict);
    // Looks at the journal directories (any thread; reads the file system only).
    [[nodiscard]] static JournalAccess access();

private:
    bool count_to_end(FoundEntries& found);

    struct Journal;  // the sd_journal and where it stands
    std::unique_ptr<Journal> journal_;
    std::string run_id_;
    std::string match_;                 // "IOT_RUN=<run_id_>"
    std::uint64_t last_monotonic_ = 0;  // of the last entry counted (see count())
};

}  // namespace iot
