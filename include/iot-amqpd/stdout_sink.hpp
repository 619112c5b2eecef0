// Writes each message as one JSON line to stdout, flushed per message, for
// containers and debugging.
//
// Thread: each StdoutSink is owned by one group thread (its line buffer and
// counter are that thread's). The FILE is shared: every group writes to the
// process's one stdout, so a line is written, flushed and checked under the
// FILE's own lock (flockfile), and lines of different groups never mix.
#pragma once

#include <cstdio>
#include <string>

#include "iot-amqpd/message_sink.hpp"

namespace iot {

class StdoutSink final : public MessageSink {
public:
    explicit StdoutSink(std::FILE* out = stdout) : out_(out) {}
    [[nodiscard]] int write(const MessageRecord& record) override;
    [[nodiscard]] std::uint64_t last_write() const override { return writes_; }

private:
    std::FILE* out_;
    std::uint64_t writes_ = 0;
    std::string line_;
};

}  // namespace iot
