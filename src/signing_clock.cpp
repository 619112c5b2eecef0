#include "iot-amqpd/signing_clock.hpp"

#include <fmt/format.h>
#include <time.h>

namespace iot {
namespace {

std::string minutes_text(std::int64_t ms) { return fmt::format("{:.1f} min", static_cast<double>(ms) / 60000.0); }

}  // namespace

SigningClock::Stamp SigningClock::stamp(const std::string& client_id, std::int64_t wall_ms, std::int64_t boot_ms) {
    const std::lock_guard<std::mutex> lock(mutex_);
    Client& client = clients_[client_id];
    Stamp result{wall_ms, {}};
    if (client.anchor) {
        const std::int64_t estimate = client.anchor->timestamp_ms + (boot_ms - client.anchor->boot_ms);
        const std::int64_t window = kCloudTimestampWindow.count();
        if (wall_ms < estimate) {
            // Behind the time the cloud last accepted: signing it would be a replay.
            result.timestamp_ms = estimate;
            if (estimate - wall_ms > window)
                result.note = fmt::format(
                    "the wall clock is {} behind the time the cloud last accepted for {} (advanced by the "
                    "monotonic clock), more than the cloud's ±15 min window; signing with that time instead. "
                    "Correct the system clock (timedatectl; is NTP synchronised?)",
                    minutes_text(estimate - wall_ms), client_id);
        } else if (wall_ms - estimate > window) {
            result.timestamp_ms = estimate;
            result.note = fmt::format(
                "the wall clock is {} ahead of the time the cloud last accepted for {} (advanced by the monotonic "
                "clock), more than the cloud's ±15 min window; signing with that time instead. Correct the system "
                "clock (timedatectl; is NTP synchronised?)",
                minutes_text(wall_ms - estimate), client_id);
        }
    }
    if (client.last && result.timestamp_ms <= client.last->timestamp_ms)
        result.timestamp_ms = client.last->timestamp_ms + 1;  // always newer than the last one signed
    client.last = Signed{result.timestamp_ms, boot_ms};
    return result;
}

void SigningClock::accepted(const std::string& client_id) {
    const std::lock_guard<std::mutex> lock(mutex_);
    Client& client = clients_[client_id];
    if (client.last) client.anchor = client.last;
}

void SigningClock::refused(const std::string& client_id) {
    const std::lock_guard<std::mutex> lock(mutex_);
    clients_[client_id].anchor.reset();
}

SigningClock& process_signing_clock() {
    static SigningClock clock;
    return clock;
}

std::int64_t boot_clock_ms() {
    timespec ts{};
    ::clock_gettime(CLOCK_BOOTTIME, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace iot
