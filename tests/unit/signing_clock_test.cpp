// Issue 15 item 2(b): the signed timestamp is always newer than the client
// id's last one, follows the cloud's accepted time when the wall clock steps,
// and says so (naming timedatectl) when the wall clock is beyond the window.
#include "iot-amqpd/signing_clock.hpp"

#include <gtest/gtest.h>

#include <cstdint>

namespace iot {
namespace {

constexpr std::int64_t kMinute = 60 * 1000;
constexpr std::int64_t kT0 = 1'764'900'000'000;  // a wall clock in ms
constexpr std::int64_t kBoot0 = 5'000'000;       // a boot clock in ms

TEST(SigningClock, SignsTheWallClockWhileItIsSane) {
    SigningClock clock;
    const auto first = clock.stamp("c", kT0, kBoot0);
    EXPECT_EQ(first.timestamp_ms, kT0);
    EXPECT_TRUE(first.note.empty());
    clock.accepted("c");
    const auto later = clock.stamp("c", kT0 + 5000, kBoot0 + 5000);
    EXPECT_EQ(later.timestamp_ms, kT0 + 5000);
    EXPECT_TRUE(later.note.empty());
}

TEST(SigningClock, TwoAttemptsInTheSameMillisecondStillIncrease) {
    SigningClock clock;
    const auto a = clock.stamp("c", kT0, kBoot0);
    const auto b = clock.stamp("c", kT0, kBoot0);
    const auto c = clock.stamp("c", kT0 - 3, kBoot0);  // no anchor yet: only newer than the last
    EXPECT_LT(a.timestamp_ms, b.timestamp_ms);
    EXPECT_LT(b.timestamp_ms, c.timestamp_ms);
    // Other client ids are independent.
    EXPECT_EQ(clock.stamp("other", kT0, kBoot0).timestamp_ms, kT0);
}

TEST(SigningClock, ClockSteppedBackWithinTheWindowSignsTheCloudsTime) {
    SigningClock clock;
    (void)clock.stamp("c", kT0, kBoot0);
    clock.accepted("c");
    // 30 s later the wall clock was stepped back 10 minutes.
    const auto s = clock.stamp("c", kT0 + 30'000 - 10 * kMinute, kBoot0 + 30'000);
    EXPECT_EQ(s.timestamp_ms, kT0 + 30'000);  // the accepted time advanced by the boot clock
    EXPECT_TRUE(s.note.empty());              // within the cloud's window: nothing to fix urgently
}

TEST(SigningClock, ClockSteppedBackBeyondTheWindowSaysSoAndNamesTimedatectl) {
    SigningClock clock;
    (void)clock.stamp("c", kT0, kBoot0);
    clock.accepted("c");
    const auto s = clock.stamp("c", kT0 + 2000 - 60 * kMinute, kBoot0 + 2000);
    EXPECT_EQ(s.timestamp_ms, kT0 + 2000);
    EXPECT_NE(s.note.find("behind"), std::string::npos) << s.note;
    EXPECT_NE(s.note.find("timedatectl"), std::string::npos) << s.note;
    EXPECT_NE(s.note.find("15 min"), std::string::npos) << s.note;
}

TEST(SigningClock, ClockSteppedForwardBeyondTheWindowSignsTheCloudsTime) {
    SigningClock clock;
    (void)clock.stamp("c", kT0, kBoot0);
    clock.accepted("c");
    const auto s = clock.stamp("c", kT0 + 2000 + 60 * kMinute, kBoot0 + 2000);
    EXPECT_EQ(s.timestamp_ms, kT0 + 2000);
    EXPECT_NE(s.note.find("ahead"), std::string::npos) << s.note;
    EXPECT_NE(s.note.find("timedatectl"), std::string::npos) << s.note;
    // Forward within the window: the wall clock is signed as it is.
    const auto near = clock.stamp("c", kT0 + 3000 + 10 * kMinute, kBoot0 + 3000);
    EXPECT_EQ(near.timestamp_ms, kT0 + 3000 + 10 * kMinute);
    EXPECT_TRUE(near.note.empty());
}

TEST(SigningClock, ARefusedLoginDropsTheEstimateButNotTheOrder) {
    SigningClock clock;
    (void)clock.stamp("c", kT0, kBoot0);
    clock.accepted("c");
    const auto ahead = clock.stamp("c", kT0 + 60 * kMinute, kBoot0 + 1000);
    EXPECT_EQ(ahead.timestamp_ms, kT0 + 1000);
    clock.refused("c");  // perhaps the estimate was wrong (a VM paused): trust the wall clock again
    const auto next = clock.stamp("c", kT0 + 60 * kMinute + 500, kBoot0 + 1500);
    EXPECT_EQ(next.timestamp_ms, kT0 + 60 * kMinute + 500);
    EXPECT_TRUE(next.note.empty());
    const auto back = clock.stamp("c", kT0, kBoot0 + 1600);  // no anchor: still newer than the last
    EXPECT_EQ(back.timestamp_ms, next.timestamp_ms + 1);
}

TEST(SigningClock, BootClockIsMonotonic) {
    const std::int64_t a = boot_clock_ms();
    const std::int64_t b = boot_clock_ms();
    EXPECT_GT(a, 0);
    EXPECT_LE(a, b);
}

}  // namespace
}  // namespace iot
