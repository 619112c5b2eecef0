// Watchdog: WATCHDOG=1 arrives at about half of WATCHDOG_USEC while every
// group's loop is alive; when journald is stopped (SIGSTOP) under load the
// group wedges in its write and the pings stop (so systemd would restart the
// service); after SIGCONT they resume and nothing was lost or doubled.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "delivery_audit.hpp"
#include "journald.hpp"
#include "scenario.hpp"
#include "wait_until.hpp"

namespace iot::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto kWatchdog = 2000ms;

std::chrono::milliseconds median(std::vector<std::chrono::milliseconds> values) {
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

TEST(Watchdog, PingsArriveAtHalfTheWatchdogInterval) {
    const auto started = Clock::now();
    ScenarioOptions options;
    options.watchdog = kWatchdog;
    Scenario scenario(options);
    scenario.config().add_group("a", "CG-A");
    scenario.config().add_group("b", "CG-B");
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready());
    ASSERT_TRUE(scenario.notify().wait_for("WATCHDOG=1", 10s, 6));

    const auto gaps = scenario.notify().intervals("WATCHDOG=1");
    ASSERT_GE(gaps.size(), 5u);
    for (const auto gap : gaps) {
        EXPECT_LT(gap, kWatchdog) << "a gap as long as WATCHDOG_USEC would get the service killed";
    }
    const auto typical = median(gaps);
    EXPECT_GE(typical, 800ms);
    EXPECT_LE(typical, 1200ms);

    EXPECT_TRUE(scenario.stop_daemon(SIGTERM, 10s).clean());
    std::printf("[ scenario ] watchdog pings: 0 messages, median gap %lld ms, %.1f s\n",
                static_cast<long long>(typical.count()), std::chrono::duration<double>(Clock::now() - started).count());
}

TEST(Watchdog, StoppedJournaldWedgesTheGroupAndStopsThePingsUntilItResumes) {
    constexpr std::size_t kMessages = 20000;
    const auto started = Clock::now();
    ScenarioOptions options;
    options.watchdog = kWatchdog;
    Scenario scenario(options);
    scenario.config().add_group("flood", "CG-A");
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready());
    ASSERT_TRUE(wait_until(
        "the link", [&] { return scenario.counters("CG-A").links == 1; }, 20s));
    ASSERT_TRUE(scenario.notify().wait_for("WATCHDOG=1", 5s, 2));

    const pid_t journald_pid = journald::ensure_running();
    scenario.publish("CG-A", kMessages, "wd-", "kind=mixed rate=4000");
    ASSERT_TRUE(scenario.messages().wait_for_count(1000, 30s));

    std::chrono::milliseconds silence{0};
    {
        journald::PauseGuard paused(journald_pid);
        const auto paused_at = Clock::now();
        ASSERT_TRUE(wait_until(
            "the watchdog pings to stop (3 s without one)",
            [&] {
                const auto last = scenario.notify().last_time("WATCHDOG=1");
                return last && Clock::now() - std::max(*last, paused_at) >= 3s;
            },
            15s));
        // Wedged means nothing more is acknowledged either.
        const auto accepted = scenario.counters("CG-A").accepted;
        EXPECT_FALSE(wait_until(
            "a further accept while journald is stopped",
            [&] { return scenario.counters("CG-A").accepted != accepted; }, 1000ms, 100ms));
        EXPECT_TRUE(scenario.daemon()->running());

        const auto resumed_at = Clock::now();
        paused.resume_now();
        ASSERT_TRUE(scenario.notify().wait_for_since("WATCHDOG=1", resumed_at, 5s)) << "pings must resume";
        silence = std::chrono::duration_cast<std::chrono::milliseconds>(*scenario.notify().last_time("WATCHDOG=1") -
                                                                        paused_at);
    }

    ASSERT_TRUE(scenario.wait_all_accepted({"CG-A"}, 60s));
    ASSERT_TRUE(scenario.messages().wait_for_count(kMessages, 60s));
    const auto entries = JournalReader::read_all(by_identifier(scenario.message_identifier()));
    EXPECT_TRUE(exactly_once(
        audit_delivery(entries, numbered_ids("wd-", kMessages), scenario.message_identifier(), {{"flood", "CG-A"}})));
    const auto counters = scenario.counters("CG-A");
    EXPECT_EQ(counters.in_flight, 0) << counters.summary();

    // Regular again.
    const auto since = Clock::now();
    ASSERT_TRUE(wait_until(
        "three more pings", [&] { return scenario.notify().count_since("WATCHDOG=1", since) >= 3; }, 6s));

    EXPECT_TRUE(scenario.stop_daemon(SIGTERM, 10s).clean());
    EXPECT_TRUE(scenario.no_secret_leaked());
    std::printf("[ scenario ] watchdog wedge: %zu messages, pings resumed %.1f s after SIGSTOP, %.1f s\n", kMessages,
                static_cast<double>(silence.count()) / 1000.0,
                std::chrono::duration<double>(Clock::now() - started).count());
}

}  // namespace
}  // namespace iot::test
