// A client of journald's native protocol that reports every failure.
//
// sd_journal_sendv() returns success when journald is not running (it ignores
// ENOENT), which would make us acknowledge a message nobody stored. This writer
// sends the same datagrams itself and returns the errno of anything that went
// wrong, so "written" really means journald's socket took the entry.
//
// Thread: owned by one group thread (its socket and buffers are not shared).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <sys/uio.h>

#include "iot-amqpd/message_format.hpp"

namespace iot {

inline constexpr const char* kJournalSocketPath = "/run/systemd/journal/socket";

class JournalWriter {
public:
    explicit JournalWriter(std::string socket_path = kJournalSocketPath);
    ~JournalWriter();
    JournalWriter(const JournalWriter&) = delete;
    JournalWriter& operator=(const JournalWriter&) = delete;

    // 0 when journald's socket accepted the entry, else an errno value
    // (ENOENT / ECONNREFUSED: journald is not running).
    [[nodiscard]] int send(const std::vector<JournalField>& fields);

private:
    int send_datagram();
    int send_via_memfd();
    int ensure_socket();

    std::string socket_path_;
    int fd_ = -1;
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
