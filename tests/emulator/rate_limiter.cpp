#include "rate_limiter.hpp"

#include <algorithm>
#include <limits>

namespace iot::emu {
namespace {

// A burst of 100 ms: the emulator re-checks throttled queues every 50 ms tick,
// so a smaller bucket would lose tokens between ticks and push below the rate.
constexpr double kBurstSeconds = 0.1;

}  // namespace

RateLimiter::RateLimiter(double per_second, Clock::time_point now)
    : per_second_(per_second > 0 ? per_second : 0),
      burst_(std::max(1.0, per_second_ * kBurstSeconds)),
      tokens_(burst_),
      updated_(now) {}

double RateLimiter::tokens_at(Clock::time_point now) const {
    if (now <= updated_) return tokens_;
    const double elapsed = std::chrono::duration<double>(now - updated_).count();
    return std::min(burst_, tokens_ + elapsed * per_second_);
}

std::size_t RateLimiter::available(Clock::time_point now) const {
    if (!limited()) return std::numeric_limits<std::size_t>::max();
    return static_cast<std::size_t>(tokens_at(now));
}

void RateLimiter::take(Clock::time_point now) {
    if (!limited()) return;
    tokens_ = std::max(0.0, tokens_at(now) - 1.0);
    updated_ = std::max(updated_, now);
}

}  // namespace iot::emu
