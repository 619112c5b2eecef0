#include "iot-amqpd/message_sink.hpp"

#include "iot-amqpd/journald_sink.hpp"
#include "iot-amqpd/stdout_sink.hpp"

#include <stdexcept>

namespace iot {

std::unique_ptr<MessageSink> make_sink(const OutputConfig& output, const std::shared_ptr<JournalFollower>& follower) {
    if (output.type == OutputType::stdout_jsonl) return std::make_unique<StdoutSink>();
    if (!follower) throw std::logic_error("journald output without a journal follower");
    return std::make_unique<JournaldSink>(output.syslog_identifier, follower);
}

}  // namespace iot
