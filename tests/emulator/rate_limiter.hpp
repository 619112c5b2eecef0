// A token bucket for the cloud's push limits (PROTOCOL.md §9.5 items 31-32):
// on average at most `per_second` sends, in bursts of at most a tenth of a
// second's worth (at least one). A rate of 0 means no limit.
// Pure logic on the caller's clock, so tests can drive it; not thread-safe: the
// emulator's container thread owns every instance.
#pragma once

#include <chrono>
#include <cstddef>

namespace iot::emu {

class RateLimiter {
public:
    using Clock = std::chrono::steady_clock;

    RateLimiter() = default;  // unlimited
    RateLimiter(double per_second, Clock::time_point now);

    [[nodiscard]] bool limited() const { return per_second_ > 0; }
    [[nodiscard]] double per_second() const { return per_second_; }
    // Sends allowed now; a large number when unlimited.
    [[nodiscard]] std::size_t available(Clock::time_point now) const;
    // Spends one send (call only when available() > 0).
    void take(Clock::time_point now);

private:
    [[nodiscard]] double tokens_at(Clock::time_point now) const;

    double per_second_ = 0;
    double burst_ = 0;
    double tokens_ = 0;
    Clock::time_point updated_{};
};

}  // namespace iot::emu
