#include "iot-amqpd/credit_window.hpp"

#include <gtest/gtest.h>

namespace iot {
namespace {

using namespace std::chrono_literals;

constexpr std::int64_t kMiB = 1 << 20;

// Accepts a whole window as one round: every delivery settled with `latency`.
void round_trip(CreditWindow& window, bool starved, Millis latency) {
    window.after_settle(starved, latency, window.size());
}

TEST(CreditWindow, BeforeTheFirstMessageItAssumesLargeOnesThenStartsAtTheInitialWindow) {
    CreditWindow window(2000, 8 * kMiB);
    EXPECT_EQ(window.size(), (8 * kMiB) / (kCopiesHeld * kAssumedMessageBytes + kPerMessageOverhead));
    window.observe_message(300);
    EXPECT_EQ(window.size(), kInitialCreditWindow);
}

TEST(CreditWindow, StaysWithinTheConfiguredCredit) {
    CreditWindow small(50, 8 * kMiB);
    small.observe_message(300);
    EXPECT_EQ(small.size(), 50U);
    CreditWindow zero(0, 8 * kMiB);
    EXPECT_EQ(zero.size(), 1U) << "a bound of 0 still lets one message through";
}

TEST(CreditWindow, GrowsWhileTheSenderWaitsForCreditAndTheJournalKeepsUp) {
    CreditWindow window(2000, 8 * kMiB);
    window.observe_message(300);
    round_trip(window, true, 5ms);
    EXPECT_EQ(window.size(), 2 * kInitialCreditWindow);
    for (int i = 0; i < 10; ++i) round_trip(window, true, 5ms);
    EXPECT_EQ(window.size(), 2000U) << "the configured credit is the upper bound";
}

TEST(CreditWindow, DoesNotGrowWhenTheSenderIsTheLimit) {
    CreditWindow window(2000, 8 * kMiB);
    window.observe_message(300);
    for (int i = 0; i < 10; ++i) round_trip(window, false, 5ms);
    EXPECT_EQ(window.size(), kInitialCreditWindow);
}

TEST(CreditWindow, DoesNotGrowWhenTheJournalIsSlowAndShrinksWhenItFallsBehind) {
    CreditWindow window(2000, 8 * kMiB);
    window.observe_message(300);
    round_trip(window, true, kConfirmLatencyTarget + 50ms);
    EXPECT_EQ(window.size(), kInitialCreditWindow) << "between target and twice: hold";
    round_trip(window, true, 2 * kConfirmLatencyTarget + 1ms);
    EXPECT_EQ(window.size(), kInitialCreditWindow * 3 / 4);
    for (int i = 0; i < 100; ++i) round_trip(window, true, 1s);
    EXPECT_EQ(window.size(), 1U) << "never below one message";
    round_trip(window, true, 1ms);
    EXPECT_EQ(window.size(), 2U) << "and it recovers";
}

TEST(CreditWindow, ChangesAtMostOncePerHalfWindowSettled) {
    CreditWindow window(2000, 8 * kMiB);
    window.observe_message(300);
    for (std::size_t i = 0; i < kInitialCreditWindow / 2 - 1; ++i) window.after_settle(true, 1ms, 1);
    EXPECT_EQ(window.size(), kInitialCreditWindow);
    window.after_settle(true, 1ms, 1);
    EXPECT_EQ(window.size(), 2 * kInitialCreditWindow);
}

TEST(CreditWindow, TheMemoryBudgetBoundsItAtTheAverageMessageSize) {
    CreditWindow window(10000, 8 * kMiB);
    for (int i = 0; i < 1000; ++i) window.observe_message(64 * 1024);
    const std::size_t per_message = kCopiesHeld * 64 * 1024 + kPerMessageOverhead;
    const std::size_t fits = (8 * kMiB) / per_message;
    EXPECT_EQ(window.cap(), fits);
    EXPECT_LE(window.size(), fits) << "large messages shrink the window at once";
    for (int i = 0; i < 20; ++i) round_trip(window, true, 1ms);
    EXPECT_EQ(window.size(), fits);
    EXPECT_LE(window.size() * per_message, static_cast<std::size_t>(8 * kMiB));
}

TEST(CreditWindow, ABudgetSmallerThanOneMessageStillLetsOneThrough) {
    CreditWindow window(100, 64 * 1024);
    window.observe_message(1 << 20);
    EXPECT_EQ(window.cap(), 1U);
    EXPECT_EQ(window.size(), 1U);
}

TEST(CreditWindow, SmallMessagesAfterLargeOnesLetItGrowAgain) {
    CreditWindow window(10000, 8 * kMiB);
    for (int i = 0; i < 500; ++i) window.observe_message(256 * 1024);
    const std::size_t large = window.cap();
    for (int i = 0; i < 2000; ++i) window.observe_message(100);
    EXPECT_GT(window.cap(), 20 * large);
    for (int i = 0; i < 20; ++i) round_trip(window, true, 1ms);
    EXPECT_EQ(window.size(), window.cap());
}

}  // namespace
}  // namespace iot
