// Where received messages go. The group consumer accepts a delivery only
// after write() returned 0, so a sink must not report success for anything it
// did not hand over.
//
// Thread: each group owns its own sink instance and calls it from its thread.
#pragma once

#include <memory>

#include "iot-amqpd/config.hpp"
#include "iot-amqpd/message_record.hpp"

namespace iot {

class MessageSink {
public:
    virtual ~MessageSink() = default;
    // 0 on success, else an errno value describing the failure.
    [[nodiscard]] virtual int write(const MessageRecord& record) = 0;
};

[[nodiscard]] std::unique_ptr<MessageSink> make_sink(const OutputConfig& output);

}  // namespace iot
