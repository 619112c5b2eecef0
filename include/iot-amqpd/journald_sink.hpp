// Writes each message as one journal entry with the fields of DESIGN.md §6.
#pragma once

#include <string>

#include "iot-amqpd/journal_writer.hpp"
#include "iot-amqpd/message_format.hpp"
#include "iot-amqpd/message_sink.hpp"

namespace iot {

class JournaldSink final : public MessageSink {
public:
    explicit JournaldSink(std::string syslog_identifier, std::string socket_path = kJournalSocketPath);
    [[nodiscard]] int write(const MessageRecord& record) override;
    [[nodiscard]] std::uint64_t last_write() const override { return writer_.last_sent(); }
    // An entry is durable once journald has read it (it stores each entry before reading the next).
    [[nodiscard]] std::uint64_t durable_through() const override { return writer_.stored_through(); }
    void poll() override { writer_.poll(); }
    [[nodiscard]] std::optional<WriteRange> take_lost() override { return writer_.take_lost(); }
    [[nodiscard]] std::vector<std::string> stored_among(std::string_view group,
                                                        const std::vector<std::string>& ids) override;

private:
    std::string syslog_identifier_;
    JournalWriter writer_;
    JournalEntryBuffers buffers_;
};

}  // namespace iot
