// Where received messages go. The group consumer accepts a delivery only
// once its write is durable (write() returned 0 and durable_through() covers
// it), so a sink must not report success for anything it did not hand over.
//
// Thread: each group owns its own sink instance and calls it from its thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "iot-amqpd/config.hpp"
#include "iot-amqpd/message_record.hpp"
#include "iot-amqpd/read_tracker.hpp"

namespace iot {

class MessageSink {
public:
    virtual ~MessageSink() = default;
    // 0 on success, else an errno value describing the failure. Successful
    // writes are numbered 1, 2, ...; last_write() is the latest.
    [[nodiscard]] virtual int write(const MessageRecord& record) = 0;
    [[nodiscard]] virtual std::uint64_t last_write() const = 0;

    // Writes 1..durable_through() are stored for good, or were reported by
    // take_lost(). A sink whose write() is final returns last_write().
    [[nodiscard]] virtual std::uint64_t durable_through() const { return last_write(); }
    // Looks for progress when nothing is being written.
    virtual void poll() {}
    // Writes the sink took but its output then lost; once.
    [[nodiscard]] virtual std::optional<WriteRange> take_lost() { return std::nullopt; }
    // Which of `ids`, written for `group`, the output did store: after a loss,
    // the ones not to write again.
    [[nodiscard]] virtual std::vector<std::string> stored_among(std::string_view /*group*/,
                                                                const std::vector<std::string>& /*ids*/) {
        return {};
    }
};

[[nodiscard]] std::unique_ptr<MessageSink> make_sink(const OutputConfig& output);

}  // namespace iot
