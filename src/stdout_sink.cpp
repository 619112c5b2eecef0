#include "iot-amqpd/stdout_sink.hpp"

#include <cerrno>

#include "iot-amqpd/message_format.hpp"

namespace iot {

int StdoutSink::write(const MessageRecord& record) {
    build_json_line(record, line_);
    errno = 0;
    // One fwrite per line: stdio's lock keeps lines of different groups whole.
    if (std::fwrite(line_.data(), 1, line_.size(), out_) != line_.size() || std::fflush(out_) != 0) {
        const int err = errno != 0 ? errno : EIO;
        std::clearerr(out_);
        return err;
    }
    ++writes_;
    return 0;
}

}  // namespace iot
