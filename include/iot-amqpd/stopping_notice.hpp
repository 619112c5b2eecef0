// STOPPING=1 on every path out of the daemon (DESIGN.md §7), sent once: the
// path that knows why says so with send(); any other way out (an early
// return, an exception unwinding main) still sends it from the destructor.
// The paths that end with std::_Exit() (no destructors run) call send() first.
//
// Thread: the main thread only (the supervisor runs on it).
#pragma once

#include <string>
#include <string_view>

#include "iot-amqpd/notifier.hpp"

namespace iot {

class StoppingNotice {
public:
    explicit StoppingNotice(Notifier& notifier) : notifier_(notifier) {}
    ~StoppingNotice();
    StoppingNotice(const StoppingNotice&) = delete;
    StoppingNotice& operator=(const StoppingNotice&) = delete;

    // The first call sends STOPPING=1 with STATUS=<status>; later calls do nothing.
    void send(std::string_view status);
    [[nodiscard]] bool sent() const { return sent_; }

private:
    Notifier& notifier_;
    bool sent_ = false;
};

}  // namespace iot
