// Where received messages go. The group consumer accepts a delivery only
// once its write is durable (write() returned 0 and durable_through() covers
// it), so a sink must not report success for anything it did not hand over.
//
// Thread: each group owns its own sink instance and calls it from its thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "iot-amqpd/config.hpp"
#include "iot-amqpd/message_record.hpp"

namespace iot {

class MessageSink {
public:
    virtual ~MessageSink() = default;
    // 0 on success, else an errno value describing the failure. Successful
    // writes are numbered 1, 2, ...; last_write() is the latest.
    [[nodiscard]] virtual int write(const MessageRecord& record) = 0;
    [[nodiscard]] virtual std::uint64_t last_write() const = 0;

    // Writes 1..durable_through() are stored for good. A sink whose write()
    // is final returns last_write().
    [[nodiscard]] virtual std::uint64_t durable_through() const { return last_write(); }
    // Looks for progress; called while writes are not durable yet.
    virtual void poll() {}
    // True when every write is durable.
    [[nodiscard]] virtual bool idle() const { return true; }
    // True while the output takes writes but stores none (they are kept and
    // written again): hold, grant no credit, and say so.
    [[nodiscard]] virtual bool holding() const { return false; }
    // Writes the output took and then dropped (each was written again).
    [[nodiscard]] virtual std::uint64_t dropped() const { return 0; }
    // Writes not durable yet.
    [[nodiscard]] virtual std::size_t unstored() const { return 0; }
    // Sends that found the output's queue full, so far (the output is the bottleneck).
    [[nodiscard]] virtual std::uint64_t queue_full() const { return 0; }
};

// Call on the thread that will own the sink. Throws std::runtime_error when
// the output cannot be opened (the journal, to read entries back).
[[nodiscard]] std::unique_ptr<MessageSink> make_sink(const OutputConfig& output);

}  // namespace iot
