#include "iot-amqpd/message_sink.hpp"

#include "iot-amqpd/journald_sink.hpp"
#include "iot-amqpd/stdout_sink.hpp"

namespace iot {

std::unique_ptr<MessageSink> make_sink(const OutputConfig& output) {
    if (output.type == OutputType::stdout_jsonl) return std::make_unique<StdoutSink>();
    return std::make_unique<JournaldSink>(output.syslog_identifier);
}

}  // namespace iot
