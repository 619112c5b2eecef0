#include "iot-amqpd/stdout_sink.hpp"

#include <stdio.h>

#include <cerrno>

#include "iot-amqpd/message_format.hpp"

namespace iot {

int StdoutSink::write(const MessageRecord& record) {
    build_json_line(record, line_);
    // Several groups share stdout: hold its lock across write, flush and the
    // error check, so this group's flush and error are about its own line.
    ::flockfile(out_);
    errno = 0;
    int err = 0;
    if (std::fwrite(line_.data(), 1, line_.size(), out_) != line_.size() || std::fflush(out_) != 0) {
        err = errno != 0 ? errno : EIO;
        std::clearerr(out_);
    }
    ::funlockfile(out_);
    if (err != 0) return err;
    ++writes_;
    return 0;
}

}  // namespace iot
