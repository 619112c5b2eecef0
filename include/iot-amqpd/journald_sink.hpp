// Writes each message as one journal entry with the fields of DESIGN.md §6,
// and calls a write durable only once the entry can be read back from the
// journal: journald may read an entry and drop it (disk full, Storage=none,
// MaxLevelStore=, a rate limit) without telling anyone. Dropped entries are
// written again (store_tracker.hpp); while journald stores nothing the sink
// holds them and says so (holding()).
//
// Thread: owned by one group thread, with its follower (its sd_journal).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "iot-amqpd/journal_follower.hpp"
#include "iot-amqpd/journal_writer.hpp"
#include "iot-amqpd/message_format.hpp"
#include "iot-amqpd/message_sink.hpp"
#include "iot-amqpd/store_tracker.hpp"

namespace iot {

// Where journald's socket queue was once seen holding at least this many of
// a group's entries when full (its send buffer takes ~93 of 1.3 KB; the
// queue, shared by every writer, 512 under systemd), a write that finds it
// full is kept and sent as journald reads, instead of waiting in sendmsg():
// a thread blocked there is woken for room for one datagram, two context
// switches a message. Where it never held so many (max_dgram_qlen 10, the
// kernel's default where systemd did not raise it), the next poll would come
// too late to keep journald busy: a write waits for room, as before.
inline constexpr std::uint64_t kWriteAheadMinQueue = 64;
// Kept entries that journald's full queue has not taken for this long mean a
// stopped journald, not a slow one: the group then waits in sendmsg() as it
// always did, so its tick stops and the watchdog sees it wedged (DESIGN.md §7).
inline constexpr std::chrono::milliseconds kStalledQueueWait{1000};

class JournaldSink final : public MessageSink {
public:
    // Throws std::runtime_error when the journal cannot be opened to read entries back.
    explicit JournaldSink(std::string syslog_identifier, std::string socket_path = kJournalSocketPath);
    [[nodiscard]] int write(const MessageRecord& record) override;
    // Any entry, with the same guarantee (IOT_RUN is appended to `fields`).
    [[nodiscard]] int write_fields(std::vector<JournalField>& fields);
    [[nodiscard]] std::uint64_t last_write() const override { return tracker_.last_write(); }
    [[nodiscard]] std::uint64_t durable_through() const override { return tracker_.stored_through(); }
    void poll() override;
    [[nodiscard]] bool idle() const override { return tracker_.unstored() == 0; }
    [[nodiscard]] bool holding() const override { return tracker_.holding(); }
    [[nodiscard]] std::uint64_t dropped() const override { return tracker_.dropped(); }
    [[nodiscard]] std::size_t unstored() const override { return tracker_.unstored(); }
    [[nodiscard]] std::uint64_t queue_full() const override { return queue_full_; }

private:
    int send_entry(std::string_view entry, std::uint64_t& datagram, bool wait);
    [[nodiscard]] bool write_ahead() const { return most_unread_when_full_ >= kWriteAheadMinQueue; }
    void send_queued(StoreTracker::Clock::time_point now);

    std::string syslog_identifier_;
    JournalFollower follower_;
    JournalWriter writer_;
    StoreTracker tracker_;
    JournalEntryBuffers buffers_;
    std::string seq_field_;                         // "IOT_SEQ=<datagram>\n", sent after every entry
    std::uint64_t decided_ = 0;                     // datagrams 1..decided_ are decided (StoreTracker::decided())
    int send_error_ = 0;                            // of the last send: not 0 while journald refuses entries
    std::uint64_t most_unread_when_full_ = 0;       // the most of ours a full queue was seen holding
    std::uint64_t queue_full_ = 0;                  // sends that found it full
    StoreTracker::Clock::time_point last_taken_{};  // a kept entry last went out (or the first was kept)
};

}  // namespace iot
