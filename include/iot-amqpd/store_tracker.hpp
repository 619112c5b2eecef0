// Which of a writer's journal entries journald stored, which it dropped, and
// what to send again: the bookkeeping behind "acknowledged means stored"
// (DESIGN.md §6). Pure logic, no I/O: the sink feeds it what the socket and
// the journal reader tell, and sends what it says.
//
// Why it exists: journald can read an entry and then not store it (file
// system full, Storage=none, MaxLevelStore=, a rate limit, a broken file) and
// tells no sender. The only proof of storage is reading the entry back. An
// entry is *decided* once journald has finished with it (it processes each
// datagram before reading the next, so a later datagram leaving the socket
// queue decides every earlier one; a dead journald decides all). A decided
// entry that a complete read of the journal started afterwards did not find
// was dropped, and is sent again.
//
// Each write keeps its entry's bytes until it is stored. Writes are numbered
// 1, 2, ... (what ConnectionSlot holds deliveries against); every send of an
// entry is a datagram with its own number (what the journal reader reports).
//
// Sending policy: while journald stores, every write is sent at once, unless
// journald's socket queue is full (the sink then queues it here, and sends
// it as journald reads: JournaldSink's write-ahead). The
// first drop stops that: the oldest unstored entry is re-sent alone as a
// probe, at once and then with a growing delay (kFirstProbeDelay doubling to
// kMaxProbeDelay) while probes are dropped too; new writes queue behind it. A
// stored probe sends everything queued.
//
// Thread: owned by one group thread (through its JournaldSink).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace iot {

inline constexpr std::chrono::milliseconds kFirstProbeDelay{100};
inline constexpr std::chrono::milliseconds kMaxProbeDelay{5000};

class StoreTracker {
public:
    using Clock = std::chrono::steady_clock;

    // True when a new write may be sent at once (nothing dropped is waiting).
    [[nodiscard]] bool sending_freely() const { return storing_ && queued_.empty(); }

    // A write whose entry went out as `datagram`; returns the write's number.
    std::uint64_t add_sent(std::string entry, std::uint64_t datagram);
    // A write kept to be sent when next_to_send() says; returns its number.
    std::uint64_t add_queued(std::string entry);

    // The next write to send now, if any: its number and entry. Call sent()
    // or send_failed() with the number before asking again.
    [[nodiscard]] std::optional<std::uint64_t> next_to_send(Clock::time_point now) const;
    [[nodiscard]] const std::string& entry(std::uint64_t write) const;
    void sent(std::uint64_t write, std::uint64_t datagram);
    // The send did not go out (journald absent): it stays queued, tried again after a delay.
    void send_failed(std::uint64_t write, Clock::time_point now);

    // Datagrams found in the journal: their writes are stored.
    void seen(const std::vector<std::uint64_t>& datagrams);
    // The journal reader counted `count` entries after the last it reported,
    // the last of them datagram `last`. journald stores a writer's entries in
    // the order it sent them, so when `count` equals the number of this
    // writer's entries sent after the last report up to and including `last`,
    // every one of them is stored. Otherwise (a drop, a copy, an entry the
    // reader missed), or when the reader says the count is `uncertain`, none
    // of them is marked: decided() leaves them to be looked up one by one.
    void found(std::uint64_t count, std::uint64_t last, bool uncertain);
    // Sent datagrams up to `through` not found yet: what decided() would take
    // for dropped (to look up once more first).
    [[nodiscard]] std::vector<std::uint64_t> unseen_through(std::uint64_t through) const;
    // Datagrams 1..through are decided, and the journal was read completely
    // since: those not seen were dropped and are queued again.
    void decided(std::uint64_t through, Clock::time_point now);

    // Writes 1..stored_through() are stored.
    [[nodiscard]] std::uint64_t stored_through() const;
    [[nodiscard]] std::uint64_t last_write() const { return last_write_; }
    // Writes kept because they are not stored yet.
    [[nodiscard]] std::size_t unstored() const { return writes_.size(); }
    // Sends awaiting journald's verdict.
    [[nodiscard]] bool awaiting_verdict() const { return !out_.empty(); }
    // Entries journald dropped so far (each drop of a re-sent entry counts again).
    [[nodiscard]] std::uint64_t dropped() const { return dropped_; }
    // True while dropped entries wait to be stored and a probe was dropped
    // too: journald is not storing anything, not just one unlucky entry.
    [[nodiscard]] bool holding() const { return !storing_ && failed_probes_ > 0; }
    // A stored entry's buffer, to reuse for the next entry (empty when none).
    [[nodiscard]] std::string spare_buffer();

private:
    enum class State { queued, out, stored };
    struct Write {
        std::string entry;
        State state = State::queued;
    };
    struct Out {
        std::uint64_t datagram;
        std::uint64_t write;
        bool seen;
    };

    Write& at(std::uint64_t write) { return writes_[write - first_write_]; }
    [[nodiscard]] const Write& at(std::uint64_t write) const { return writes_[write - first_write_]; }
    std::uint64_t add(std::string entry, State state);
    void stored(std::uint64_t write);
    void dropped(std::uint64_t write, Clock::time_point now);
    void pop_stored_front();

    std::deque<Write> writes_;  // write first_write_, first_write_ + 1, ...: every unstored one
    std::uint64_t first_write_ = 1;
    std::uint64_t last_write_ = 0;
    std::deque<Out> out_;               // sent, not yet decided; by datagram number
    std::uint64_t found_through_ = 0;   // the `last` of the newest found()
    std::deque<std::uint64_t> queued_;  // writes to send, oldest first
    std::vector<std::string> spares_;   // buffers of stored entries

    bool storing_ = true;
    std::optional<std::uint64_t> probe_;  // the write sent to see whether journald stores again
    Clock::time_point next_probe_{};
    std::chrono::milliseconds probe_delay_{kFirstProbeDelay};
    unsigned failed_probes_ = 0;
    std::uint64_t dropped_ = 0;
};

}  // namespace iot
