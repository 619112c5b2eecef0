#include "iot-amqpd/backoff.hpp"

#include <algorithm>
#include <cmath>

namespace iot {

Backoff::Backoff(const ReconnectPolicy& policy, std::uint64_t seed) : policy_(policy), rng_(seed) {}

Millis Backoff::next_delay(bool auth_failure) {
    const double base = static_cast<double>(policy_.initial_delay.count()) *
                        std::pow(policy_.multiplier, static_cast<double>(std::min(failures_, 62)));
    const double capped = std::min(base, static_cast<double>(policy_.max_delay.count()));
    std::uniform_real_distribution<double> spread(1.0 - policy_.jitter, 1.0 + policy_.jitter);
    auto delay = Millis(static_cast<Millis::rep>(std::llround(capped * spread(rng_))));
    ++failures_;
    delay = std::min(delay, policy_.max_delay);
    if (auth_failure) delay = std::max(delay, kAuthFailureFloor);
    return std::max(delay, Millis(1));
}

SteadyTime AttemptLimiter::earliest_attempt(SteadyTime now) {
    const auto window = std::chrono::minutes(1);
    while (!attempts_.empty() && attempts_.front() + window <= now) attempts_.pop_front();
    if (max_ <= 0 || static_cast<int>(attempts_.size()) < max_) return now;  // 0: the cloud sets no limit
    return attempts_[attempts_.size() - static_cast<std::size_t>(max_)] + window;
}

}  // namespace iot
