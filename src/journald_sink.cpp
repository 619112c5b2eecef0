#include "iot-amqpd/journald_sink.hpp"

namespace iot {

JournaldSink::JournaldSink(std::string syslog_identifier, std::string socket_path)
    : syslog_identifier_(std::move(syslog_identifier)), writer_(std::move(socket_path)) {}

int JournaldSink::write(const MessageRecord& record) {
    build_journal_fields(record, syslog_identifier_, buffers_);
    return writer_.send(buffers_.fields);
}

}  // namespace iot
