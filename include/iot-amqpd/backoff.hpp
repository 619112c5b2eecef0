// Reconnect pacing for one group: exponential backoff with jitter, a longer
// floor after authentication failures, and the cloud's cap of 100 connection
// attempts per minute per consumer group (summed over its connections).
//
// Thread: owned by one group thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <random>

#include "iot-amqpd/config.hpp"

namespace iot {

using SteadyTime = std::chrono::steady_clock::time_point;

inline constexpr Millis kAuthFailureFloor{30000};
inline constexpr int kMaxAttemptsPerMinute = 100;

class Backoff {
public:
    Backoff(const ReconnectPolicy& policy, std::uint64_t seed);

    // The delay before the next attempt after a failure; grows each call.
    [[nodiscard]] Millis next_delay(bool auth_failure);
    // Call once a connection has stayed up long enough to count as healthy.
    void reset() { failures_ = 0; }
    [[nodiscard]] int failures() const { return failures_; }

private:
    ReconnectPolicy policy_;
    int failures_ = 0;
    std::mt19937_64 rng_;
};

// Sliding one-minute window of attempt times.
class AttemptLimiter {
public:
    explicit AttemptLimiter(int max_per_minute = kMaxAttemptsPerMinute) : max_(max_per_minute) {}

    // The earliest time an attempt may be made (now, or when the oldest attempt in the window expires).
    [[nodiscard]] SteadyTime earliest_attempt(SteadyTime now);
    void record(SteadyTime when) { attempts_.push_back(when); }

private:
    int max_;
    std::deque<SteadyTime> attempts_;
};

}  // namespace iot
