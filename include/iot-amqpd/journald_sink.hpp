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

private:
    std::string syslog_identifier_;
    JournalWriter writer_;
    JournalEntryBuffers buffers_;
};

}  // namespace iot
