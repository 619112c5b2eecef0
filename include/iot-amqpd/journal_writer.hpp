// A client of journald's native protocol that reports every failure and
// knows which datagrams journald has read, and so which it has finished with.
//
// sd_journal_sendv() returns success when journald is not running (it ignores
// ENOENT), which would make us acknowledge a message nobody stored. This writer
// sends the same datagrams itself and returns the errno of anything that went
// wrong. Its socket is connected to journald's, so a journald that died is
// noticed on the next send (ECONNREFUSED). journald processes each datagram
// (stores or drops its entry) before it reads the next, so a datagram that
// left the socket queue means every earlier one is decided (see
// read_tracker.hpp); whether it was stored, only the journal tells
// (journal_follower.hpp).
//
// Thread: owned by one group thread (its socket and buffers are not shared).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
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

    // Sends one entry, `entry` followed by `trailer` (both in native
    // encoding, see encode_journal_entry). 0 when journald's socket took it
    // (its datagram number is then last_sent(), and was next_datagram()
    // before), else an errno value (ENOENT / ECONNREFUSED: journald is not
    // running). A journald that died since the last send is replaced by the
    // one now listening, if any.
    [[nodiscard]] int send(std::string_view entry, std::string_view trailer = {});
    // The same, for an entry given as fields.
    [[nodiscard]] int send(const std::vector<JournalField>& fields);
    // send() without waiting: EAGAIN, and nothing sent, when journald's
    // socket queue has no room for the datagram now.
    [[nodiscard]] int try_send(std::string_view entry, std::string_view trailer = {});
    // Datagrams sent that journald has not read yet (as last observed).
    [[nodiscard]] std::uint64_t unread();

    [[nodiscard]] std::uint64_t last_sent() const { return tracker_.last_sent(); }
    [[nodiscard]] std::uint64_t next_datagram() const { return tracker_.last_sent() + 1; }
    // Datagrams 1..read_through() were read by a journald known alive afterwards.
    [[nodiscard]] std::uint64_t read_through() const { return tracker_.resolved_through(); }
    // Datagrams 1..decided_through() are done with: journald stored or
    // dropped their entries, or died and can do neither any more.
    [[nodiscard]] std::uint64_t decided_through() const;
    // Looks for progress when there is nothing to send: reads the queue and,
    // when the newest entry is not decided yet, sends journald an empty
    // datagram (which it ignores): once that leaves the queue, it is.
    void poll();

private:
    int send(std::string_view entry, std::string_view trailer, bool wait);
    int transmit(std::size_t payload, bool wait);
    int send_datagram(bool wait);
    int send_via_memfd();
    int ensure_connected();
    void observe_queue();
    void journald_gone();
    void gather(std::string_view entry, std::string_view trailer);

    std::string socket_path_;
    int fd_ = -1;
    const QueuedSizes& queued_sizes_;
    ReadTracker tracker_;
    unsigned sends_since_observed_ = 0;
    bool last_was_probe_ = false;
    std::uint64_t gone_through_ = 0;  // datagrams sent to journalds that died since
    std::vector<iovec> iov_;
    std::string staging_;  // send(fields): the encoded entry
};

// Appends the entry's fields to `out` in journald's native encoding
// (NAME=value, or NAME '\n' <le64 size> value for values with a newline).
void encode_journal_entry(const std::vector<JournalField>& fields, std::string& out);

}  // namespace iot
