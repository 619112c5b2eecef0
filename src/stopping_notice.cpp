#include "iot-amqpd/stopping_notice.hpp"

#include <exception>

namespace iot {

StoppingNotice::~StoppingNotice() {
    try {
        send("stopping");
    } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): nothing left to tell it to
    }
}

void StoppingNotice::send(std::string_view status) {
    if (sent_) return;
    sent_ = true;
    notifier_.notify("STOPPING=1\nSTATUS=" + std::string(status));
}

}  // namespace iot
