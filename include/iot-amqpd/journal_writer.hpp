// A client of journald's native protocol that reports every failure and
// knows which entries journald has actually read.
//
// sd_journal_sendv() returns success when journald is not running (it ignores
// ENOENT), which would make us acknowledge a message nobody stored. This writer
// sends the same datagrams itself and returns the errno of anything that went
// wrong. Its socket is connected to journald's, so a journald that died is
// noticed on the next send (ECONNREFUSED), and entries its socket took but it
// never read are reported by take_lost() (see read_tracker.hpp).
//
// Thread: owned by one group thread (its socket and buffers are not shared).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <sys/uio.h>

#include "iot-amqpd/message_format.hpp"
#include "iot-amqpd/queued_size.hpp"
#include "iot-amqpd/read_tracker.hpp"

namespace iot {

inline constexpr const char* kJournalSocketPath = "/run/systemd/journal/socket";

class JournalWriter {
public:
    explicit JournalWriter(std::string socket_path = kJournalSocketPath);
    ~JournalWriter();
    JournalWriter(const JournalWriter&) = delete;
    JournalWriter& operator=(const JournalWriter&) = delete;

    // 0 when journald's socket took the entry (its number is then
    // last_sent()), else an errno value (ENOENT / ECONNREFUSED: journald is not
    // running). A journald that died since the last send is replaced by the
    // one now listening, if any.
    [[nodiscard]] int send(const std::vector<JournalField>& fields);

    [[nodiscard]] std::uint64_t last_sent() const { return tracker_.last_sent(); }
    // Entries 1..stored_through() were read by journald, or returned by take_lost().
    [[nodiscard]] std::uint64_t stored_through() const { return tracker_.resolved_through(); }
    // Looks for progress when there is nothing to send: reads the queue and,
    // when that shows reads still to be proven, sends journald an empty
    // datagram (which it ignores) to prove it is alive.
    void poll();
    // Entries journald's socket took but journald died before reading; once.
    [[nodiscard]] std::optional<WriteRange> take_lost();

private:
    int transmit(std::size_t payload);
    int send_datagram();
    int send_via_memfd();
    int ensure_connected();
    void observe_queue();
    void journald_gone();

    std::string socket_path_;
    int fd_ = -1;
    const QueuedSizes& queued_sizes_;
    ReadTracker tracker_;
    unsigned sends_since_observed_ = 0;
    std::optional<WriteRange> lost_;
    // One piece of the datagram: a range of staging_ (external == nullptr) or a big value sent in place.
    struct Segment {
        const char* external;
        std::size_t offset;
        std::size_t size;
    };
    std::vector<Segment> segments_;
    std::vector<iovec> iov_;
    std::string staging_;  // the entry's fields, except big values sent in place
};

}  // namespace iot
