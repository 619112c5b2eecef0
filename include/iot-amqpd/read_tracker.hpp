// Which of our datagrams journald has read, told from the one number the
// kernel gives a sender: the bytes of its datagrams still queued at the
// receiver (SIOCOUTQ on an AF_UNIX socket).
//
// Why: journald's socket taking a datagram is not journald storing it. A
// journald killed with our datagrams unread in its socket queue takes them
// along (when it owns the socket; under systemd the socket outlives it). An
// entry is only safe once journald has read it: it writes each entry to its
// mmap'd file before reading the next datagram.
//
// Two facts make the inference sound: the unread datagrams are the newest ones
// (the queue is FIFO), and each occupies at least a known number of bytes
// (queued_size.hpp). So if the newest k datagrams' least sizes add up to more
// than the queued bytes, fewer than k are unread and all older ones were read.
// A queue that empties because the reader DIED reads the same as one it
// drained, so an inference only counts once a later send to the same reader
// succeeded (a dead reader's socket refuses every send).
//
// Thread: owned by the JournalWriter that feeds it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>

namespace iot {

// Writes first..last (inclusive) by number; empty when first > last.
struct WriteRange {
    std::uint64_t first = 1;
    std::uint64_t last = 0;
    [[nodiscard]] bool empty() const { return first > last; }
    [[nodiscard]] bool contains(std::uint64_t n) const { return n >= first && n <= last; }
};

class ReadTracker {
public:
    // A datagram that occupies at least `least_queued_bytes` (> 0) while queued
    // went to the reader; returns its number (1, 2, ...). The send succeeding proves the reader alive, so what
    // observe_queued() inferred before it is now certain.
    std::uint64_t sent(std::uint64_t least_queued_bytes);

    // The sender's queued bytes, read after the last send.
    void observe_queued(std::uint64_t queued_bytes);

    // The reader is gone: every datagram not proven read may be lost. Returns
    // them and starts afresh for the next reader (numbers keep counting).
    [[nodiscard]] WriteRange reader_lost();

    // Datagrams 1..resolved_through() were read by a live reader, or were
    // returned by reader_lost().
    [[nodiscard]] std::uint64_t resolved_through() const { return proven_; }
    [[nodiscard]] std::uint64_t last_sent() const { return last_sent_; }
    // Datagrams 1..left_queue_through() left the queue: read, or gone with a
    // reader that died (not yet told apart: nothing sent since proved it alive).
    [[nodiscard]] std::uint64_t left_queue_through() const { return inferred_; }
    // True when an inference waits for a send to prove the reader alive.
    [[nodiscard]] bool awaiting_proof() const { return inferred_ > proven_; }

private:
    struct Unread {
        std::uint64_t number;
        std::uint64_t least_bytes;
    };
    std::deque<Unread> maybe_unread_;  // oldest first
    std::uint64_t last_sent_ = 0;
    std::uint64_t inferred_ = 0;  // read, if the reader was alive when observed
    std::uint64_t proven_ = 0;    // read by a reader known alive afterwards
};

}  // namespace iot
