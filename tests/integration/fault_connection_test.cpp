// Fault matrix, the connection: while messages stream, the emulator drops
// connections abruptly (TCP gone, no close frame) again and again, closes
// them with amqp:connection:forced and with other conditions, refuses
// authentication for a while, and stalls (answers nothing, heartbeats
// included). After each, every published messageId is in the journal exactly
// once, the emulator saw everything accepted and nothing left in flight, and
// the daemon is healthy (all groups connected, watchdog pings arriving).

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "delivery_audit.hpp"
#include "fault_verdict.hpp"
#include "scenario.hpp"
#include "wait_until.hpp"

namespace iot::test {
namespace {

using namespace std::chrono_literals;

// Pacing between injected faults (the faults are the point, not a wait for a result).
void pause_between_faults(std::chrono::milliseconds pause) { std::this_thread::sleep_for(pause); }

// After a fault that hit `hit` connections: wait until the emulator admitted
// as many new ones and all `links` receivers are attached again. (Its link
// gauge lags behind a close, so the admitted total is what proves it.)
::testing::AssertionResult reconnected(Scenario& scenario, const std::string& consumer_group_id,
                                       std::int64_t total_before, std::int64_t hit, std::int64_t links) {
    return wait_until(
        consumer_group_id + " to reconnect " + std::to_string(hit) + " connection(s)",
        [&] {
            const auto c = scenario.counters(consumer_group_id);
            return c.connections_total >= total_before + hit && c.links == links && c.connections == links;
        },
        20s);
}

// The common ending of every case here: the journal, the emulator, the daemon.
void expect_nothing_lost(Scenario& scenario, const std::string& case_name, const std::string& group,
                         const std::string& consumer_group_id, const std::set<std::string>& expected,
                         std::chrono::steady_clock::time_point started, std::chrono::milliseconds settle_timeout) {
    expect_delivered_once(scenario, case_name, group, consumer_group_id, expected, started, settle_timeout,
                          redelivered_note);
    EXPECT_TRUE(daemon_healthy(scenario, 1));
}

TEST(FaultConnection, AbruptDropsRepeatedUnderLoadLoseNothing) {
    constexpr std::size_t kMessages = 3000;
    constexpr int kDrops = 10;
    const auto started = std::chrono::steady_clock::now();
    Scenario scenario;
    scenario.config().reconnect_max_delay = "300ms";  // keeps the ten rounds short
    scenario.config().add_group("drops", "CG-A", 2);
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready());
    ASSERT_TRUE(scenario.wait_for_links("CG-A", 2));

    // Each round publishes a chunk and at once drops both connections: the
    // emulator has just pushed a credit window the daemon has not settled.
    std::int64_t dropped = 0;
    for (int i = 0; i < kDrops; ++i) {
        scenario.publish("CG-A", kMessages / kDrops, "drop" + std::to_string(i) + "-", "kind=mixed");
        const auto total_before = scenario.counters("CG-A").connections_total;
        const auto hit = scenario.emulator("drop group=CG-A")["dropped"].as_int();
        dropped += hit;
        ASSERT_TRUE(reconnected(scenario, "CG-A", total_before, hit, 2)) << "after drop " << i + 1;
    }
    EXPECT_EQ(dropped, 2 * kDrops) << "every drop must have hit both live connections";
    std::set<std::string> expected;
    for (int i = 0; i < kDrops; ++i) {
        const auto ids = numbered_ids("drop" + std::to_string(i) + "-", kMessages / kDrops);
        expected.insert(ids.begin(), ids.end());
    }

    expect_nothing_lost(scenario, "connection dropped x" + std::to_string(dropped), "drops", "CG-A", expected, started,
                        60s);
    EXPECT_GT(scenario.counters("CG-A").redelivered, 0) << "the drops must have caught deliveries in flight";
    EXPECT_TRUE(scenario.stop_daemon(SIGTERM, 10s).clean());
}

TEST(FaultConnection, ServerClosesWithForcedAndOtherConditionsLoseNothing) {
    constexpr std::size_t kMessages = 3000;
    // The cloud's deploy close (9602) first, then conditions a server might send.
    const std::vector<std::string> conditions = {
        "amqp:connection:forced",        "amqp:internal-error",      "amqp:resource-limit-exceeded",
        "amqp:connection:framing-error", "amqp:connection:forced",   "amqp:not-allowed",
        "amqp:precondition-failed",      "amqp:connection:redirect",
    };
    const auto started = std::chrono::steady_clock::now();
    Scenario scenario;
    scenario.config().reconnect_max_delay = "300ms";  // keeps the rounds short
    scenario.config().add_group("closes", "CG-B", 2);
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready());
    ASSERT_TRUE(scenario.wait_for_links("CG-B", 2));

    // Each round publishes a chunk and at once closes both connections while it streams.
    const std::size_t chunk = kMessages / conditions.size();
    std::int64_t closed = 0;
    std::int64_t unaccepted_at_close = 0;  // summed over the rounds: the closes came mid-stream
    std::set<std::string> expected;
    for (std::size_t i = 0; i < conditions.size(); ++i) {
        const auto prefix = "close" + std::to_string(i) + "-";
        scenario.publish("CG-B", chunk, prefix, "kind=mixed");
        const auto ids = numbered_ids(prefix, chunk);
        expected.insert(ids.begin(), ids.end());
        const auto before = scenario.counters("CG-B");
        const auto total_before = before.connections_total;
        unaccepted_at_close += before.published - before.accepted;
        const auto hit = scenario
                             .emulator("close group=CG-B condition=" + conditions[i] +
                                       " description=\"closed by the fault test\"")["closed"]
                             .as_int();
        closed += hit;
        ASSERT_TRUE(reconnected(scenario, "CG-B", total_before, hit, 2)) << "after the close with " << conditions[i];
    }
    EXPECT_EQ(closed, static_cast<std::int64_t>(2 * conditions.size())) << "every close must hit both connections";

    expect_nothing_lost(scenario, "closed by server x" + std::to_string(closed), "closes", "CG-B", expected, started,
                        60s);
    // A close frame lets the daemon settle what it holds before it answers, so
    // nothing needs redelivery here; what matters is that the closes came mid-stream.
    EXPECT_GT(unaccepted_at_close, 0) << "the closes must have come while messages were streaming";
    // The daemon said why it lost the connection, naming the condition.
    bool named = false;
    for (const auto& entry : scenario.daemon_events("disconnected")) {
        named = named || field_or_empty(entry, "MESSAGE").find("amqp:connection:forced") != std::string::npos;
    }
    EXPECT_TRUE(named) << "a disconnect log line should name the server's condition";
    EXPECT_TRUE(scenario.stop_daemon(SIGTERM, 10s).clean());
}

// The daemon waits at least 30 s after an authentication failure (by
// design), so this case takes about 35 s.
TEST(FaultConnection, AuthenticationRefusedForAWhileThenEverythingArrives) {
    constexpr std::size_t kMessages = 1500;
    const auto started = std::chrono::steady_clock::now();
    Scenario scenario;
    scenario.config().add_group("refused", "CG-C", 1);
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready());
    ASSERT_TRUE(scenario.wait_for_links("CG-C", 1));

    scenario.publish("CG-C", kMessages / 2, "auth-", "kind=mixed rate=1000");
    pause_between_faults(300ms);  // part of the stream is in the journal, part in flight
    scenario.emulator("refuse_auth seconds=3");
    ASSERT_GE(scenario.emulator("drop group=CG-C")["dropped"].as_int(), 1);
    ASSERT_TRUE(wait_until(
        "a refused reconnect", [&] { return scenario.counters("CG-C").auth_failures >= 1; }, 10s));
    // More messages while the daemon is locked out: they queue at the emulator.
    scenario.publish("CG-C", kMessages / 2, "auth2-", "kind=mixed");
    ASSERT_TRUE(scenario.wait_for_event("auth_failed", 1, 10s));
    // The refused connection closes on both ends in its own time.
    EXPECT_TRUE(wait_until(
        "the refused connection closed", [&] { return scenario.counters("CG-C").connections == 0; }, 10s))
        << scenario.counters("CG-C").summary();
    {
        const auto c = scenario.counters("CG-C");
        EXPECT_GT(c.queued + c.in_flight, 0) << "messages must be waiting while the daemon is locked out";
    }

    auto expected = numbered_ids("auth-", kMessages / 2);
    const auto more = numbered_ids("auth2-", kMessages / 2);
    expected.insert(more.begin(), more.end());
    expect_nothing_lost(scenario, "auth refused 3 s", "refused", "CG-C", expected, started, 50s);
    EXPECT_EQ(scenario.counters("CG-C").auth_failures, 1) << "one refused attempt, then 30 s of backoff";
    EXPECT_TRUE(scenario.stop_daemon(SIGTERM, 10s).clean());
}

TEST(FaultConnection, SlowServerStallsMidStreamLoseNothing) {
    constexpr std::size_t kMessages = 3000;
    constexpr int kStalls = 3;
    const auto started = std::chrono::steady_clock::now();
    Scenario scenario;
    scenario.config().add_group("stalls", "CG-D", 2);
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready());
    ASSERT_TRUE(scenario.wait_for_links("CG-D", 2));

    scenario.publish("CG-D", kMessages, "stall-", "kind=mixed rate=1500");
    const auto watchdog_before = scenario.notify().count("WATCHDOG=1");
    for (int i = 0; i < kStalls; ++i) {
        pause_between_faults(300ms);
        scenario.emulator("stall seconds=1.5");  // returns once the emulator has frozen
    }
    expect_nothing_lost(scenario, "server stalls 3 x 1.5 s", "stalls", "CG-D", numbered_ids("stall-", kMessages),
                        started, 60s);
    // A slow cloud is not a wedged daemon: the pings went on during the stalls.
    EXPECT_GE(scenario.notify().count("WATCHDOG=1") - watchdog_before, 4u);
    EXPECT_EQ(scenario.counters("CG-D").connections_total, 2)
        << "a stall shorter than the heartbeat is no reason to reconnect";
    EXPECT_TRUE(scenario.stop_daemon(SIGTERM, 10s).clean());
}

}  // namespace
}  // namespace iot::test
