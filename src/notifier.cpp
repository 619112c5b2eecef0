#include "iot-amqpd/notifier.hpp"

#include <systemd/sd-daemon.h>

#include <cstdint>

namespace iot {

void SdNotifier::notify(const std::string& state) { (void)sd_notify(0, state.c_str()); }

std::optional<std::chrono::microseconds> SdNotifier::watchdog_interval() const {
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
    return std::chrono::microseconds(static_cast<std::int64_t>(usec / 2));
}

}  // namespace iot
