#include "iot-amqpd/backoff.hpp"

#include <gtest/gtest.h>

namespace iot {
namespace {

ReconnectPolicy policy(Millis initial, Millis max, double multiplier, double jitter) {
    ReconnectPolicy p;
    p.initial_delay = initial;
    p.max_delay = max;
    p.multiplier = multiplier;
    p.jitter = jitter;
    return p;
}

TEST(Backoff, GrowsExponentiallyWithoutJitter) {
    Backoff b(policy(Millis(1000), Millis(60000), 2.0, 0.0), 1);
    EXPECT_EQ(b.next_delay(false), Millis(1000));
    EXPECT_EQ(b.next_delay(false), Millis(2000));
    EXPECT_EQ(b.next_delay(false), Millis(4000));
    for (int i = 0; i < 10; ++i) (void)b.next_delay(false);
    EXPECT_EQ(b.next_delay(false), Millis(60000));
}

TEST(Backoff, JitterStaysWithinBoundsAndNeverExceedsMax) {
    Backoff b(policy(Millis(1000), Millis(8000), 2.0, 0.2), 42);
    for (int round = 0; round < 200; ++round) {
        b.reset();
        double expected = 1000;
        for (int i = 0; i < 6; ++i) {
            const auto d = static_cast<double>(b.next_delay(false).count());
            const double capped = std::min(expected, 8000.0);
            EXPECT_GE(d, capped * 0.8 - 1) << "attempt " << i;
            EXPECT_LE(d, std::min(capped * 1.2 + 1, 8000.0)) << "attempt " << i;
            expected *= 2;
        }
    }
}

TEST(Backoff, AuthenticationFailureWaitsAtLeastThirtySeconds) {
    Backoff b(policy(Millis(100), Millis(5000), 2.0, 0.2), 7);
    for (int i = 0; i < 5; ++i) EXPECT_GE(b.next_delay(true), Millis(30000));
}

TEST(Backoff, ResetStartsAgainFromTheInitialDelay) {
    Backoff b(policy(Millis(500), Millis(60000), 3.0, 0.0), 1);
    (void)b.next_delay(false);
    (void)b.next_delay(false);
    b.reset();
    EXPECT_EQ(b.next_delay(false), Millis(500));
}

TEST(AttemptLimiter, AllowsAHundredAttemptsPerMinuteThenWaits) {
    AttemptLimiter limiter;
    const SteadyTime t0{};
    auto now = t0 + std::chrono::hours(1);
    for (int i = 0; i < 100; ++i) {
        ASSERT_EQ(limiter.earliest_attempt(now), now) << i;
        limiter.record(now);
        now += Millis(10);
    }
    const auto first = now - Millis(1000);  // the first attempt's time
    EXPECT_EQ(limiter.earliest_attempt(now), first + std::chrono::minutes(1));
    // After that moment one more attempt fits.
    EXPECT_EQ(limiter.earliest_attempt(first + std::chrono::minutes(1)), first + std::chrono::minutes(1));
}

TEST(AttemptLimiter, NeverMoreThanAHundredInAnyMinuteUnderAStorm) {
    AttemptLimiter limiter;
    std::vector<SteadyTime> made;
    auto now = SteadyTime{} + std::chrono::hours(1);
    const auto end = now + std::chrono::minutes(5);
    while (now < end) {
        const auto at = limiter.earliest_attempt(now);
        if (at <= now) {
            limiter.record(now);
            made.push_back(now);
        }
        now += Millis(50);  // a client trying every 50 ms
    }
    for (std::size_t i = 0; i < made.size(); ++i) {
        std::size_t in_window = 0;
        for (std::size_t j = i; j < made.size() && made[j] < made[i] + std::chrono::minutes(1); ++j) ++in_window;
        EXPECT_LE(in_window, 100U);
    }
    EXPECT_GE(made.size(), 500U);  // and the limiter still lets 100 a minute through
}

}  // namespace
}  // namespace iot
