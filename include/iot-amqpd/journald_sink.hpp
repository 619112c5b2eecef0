// Writes each message as one journal entry with the fields of DESIGN.md §6,
// and calls a write durable only once the entry can be read back from the
// journal: journald may read an entry and drop it (disk full, Storage=none,
// MaxLevelStore=, a rate limit) without telling anyone. Dropped entries are
// written again (store_tracker.hpp); while journald stores nothing the sink
// holds them and says so (holding()).
//
// Thread: owned by one group thread, with its follower (its sd_journal).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "iot-amqpd/journal_follower.hpp"
#include "iot-amqpd/journal_writer.hpp"
#include "iot-amqpd/message_format.hpp"
#include "iot-amqpd/message_sink.hpp"
#include "iot-amqpd/store_tracker.hpp"

namespace iot {

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

private:
    int send_entry(std::string_view entry, std::uint64_t& datagram);

    std::string syslog_identifier_;
    JournalFollower follower_;
    JournalWriter writer_;
    StoreTracker tracker_;
    JournalEntryBuffers buffers_;
    std::string seq_field_;      // "IOT_SEQ=<datagram>\n", sent after every entry
    std::uint64_t decided_ = 0;  // datagrams 1..decided_ are decided (StoreTracker::decided())
    int send_error_ = 0;         // of the last send: not 0 while journald refuses entries
};

}  // namespace iot
