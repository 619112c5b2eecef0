// The credit window, seen from the cloud: it grows past its start while the
// cloud has a backlog and journald keeps up, never beyond `credit`, and the
// memory budget bounds it by the size of the messages.
//
// Measured as the most unused credit the emulator ever held on the link: the
// daemon grants what its window leaves after what it holds, so with nothing
// held that is the whole window. (The emulator's count of unsettled
// deliveries is no measure of it: proton writes a pass's flow frame before
// its dispositions, so the peer briefly sees new credit while the accepts
// that made room for it are still on their way.)

#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include "delivery_audit.hpp"
#include "fault_verdict.hpp"
#include "sanitizer_build.hpp"
#include "scenario.hpp"
#include "wait_until.hpp"

namespace iot::test {
namespace {

using namespace std::chrono_literals;

// The daemon's starting window (credit_window.hpp), as the cloud sees it.
constexpr std::int64_t kInitialWindow = 200;

void expect_each_once(Scenario& scenario, const std::string& prefix, std::size_t count, const std::string& group) {
    const auto expected = numbered_ids(prefix, count);
    const auto entries = final_message_entries(scenario, count, 60s);
    EXPECT_TRUE(exactly_once(audit_delivery(entries, expected, scenario.message_identifier(), {{group, "CG-A"}})));
}

TEST(CreditWindow, GrowsPastItsStartWhileTheCloudHasABacklogButNeverBeyondTheCredit) {
    constexpr std::size_t kMessages = 20000;
    constexpr int kCredit = 1000;
    Scenario scenario;
    scenario.config().credit = kCredit;
    scenario.config().add_group("backlog", "CG-A", 1);
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready());
    ASSERT_TRUE(wait_until(
        "the link", [&] { return scenario.counters("CG-A").links == 1; }, 20s));
    scenario.publish("CG-A", kMessages, "b-");
    ASSERT_TRUE(scenario.wait_all_accepted({"CG-A"}, 120s));
    const GroupCounters counters = scenario.counters("CG-A");
    std::cout << "[ credit-window ] backlog of " << kMessages << ": the most unused credit " << counters.max_link_credit
              << " (start " << kInitialWindow << ", bound " << kCredit << ")\n";
    // The window grows only while the sender, not the daemon, is what waits.
    // Under a sanitizer the daemon is several times slower than the emulator,
    // so it is the bottleneck and the window rightly stays where it started.
    if (!kSanitizerBuild) {
        EXPECT_GT(counters.max_link_credit, kInitialWindow) << "the window never grew";
    }
    EXPECT_LE(counters.max_link_credit, kCredit) << "credit is the upper bound";
    EXPECT_EQ(counters.ack_timeouts, 0);
    expect_each_once(scenario, "b-", kMessages, "backlog");
    EXPECT_TRUE(daemon_healthy(scenario, 1));
}

// 1 MiB for messages held three times (proton's delivery buffer, up to twice
// the message, and the entry kept to write again) plus 1 KiB each: 5 of
// 64 KiB, from the first credit on (until the first message shows its size,
// messages are taken to be 64 KiB).
TEST(CreditWindow, TheMemoryBudgetBoundsWhatIsInFlightByTheMessagesSize) {
    constexpr std::size_t kMessages = 300;
    constexpr std::size_t kSize = 64 * 1024;
    constexpr std::int64_t kFits = (1 << 20) / (3 * kSize + 1024);
    Scenario scenario;
    scenario.config().credit = 2000;
    scenario.config().add_group("large", "CG-A", 1).extra_lines.emplace_back("memory_budget: 1MiB");
    scenario.publish("CG-A", kMessages, "l-", "kind=custom_text size=" + std::to_string(kSize));
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready());
    ASSERT_TRUE(scenario.wait_all_accepted({"CG-A"}, 120s));
    const GroupCounters counters = scenario.counters("CG-A");
    std::cout << "[ credit-window ] " << kMessages << " x 64 KiB within 1MiB: the most unused credit "
              << counters.max_link_credit << " (fits " << kFits << ")\n";
    EXPECT_LE(counters.max_link_credit, kFits);
    EXPECT_GE(counters.max_link_credit, 2) << "still a pipeline, not one message at a time";
    expect_each_once(scenario, "l-", kMessages, "large");
    EXPECT_TRUE(daemon_healthy(scenario, 1));
}

}  // namespace
}  // namespace iot::test
