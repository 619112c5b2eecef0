#include "iot-amqpd/journald_sink.hpp"

#include "iot-amqpd/journal_seed.hpp"

namespace iot {

JournaldSink::JournaldSink(std::string syslog_identifier, std::string socket_path)
    : syslog_identifier_(std::move(syslog_identifier)), writer_(std::move(socket_path)) {}

int JournaldSink::write(const MessageRecord& record) {
    build_journal_fields(record, syslog_identifier_, buffers_);
    return writer_.send(buffers_.fields);
}

std::vector<std::string> JournaldSink::stored_among(std::string_view group, const std::vector<std::string>& ids) {
    return find_in_journal(syslog_identifier_, group, ids);
}

}  // namespace iot
