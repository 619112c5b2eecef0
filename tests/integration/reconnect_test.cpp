// Reconnect: the emulator (strict: a timestamp not newer than the client's
// last one is refused) drops and closes connections again and again while
// messages stream. Nothing may be lost or written twice, and every
// reconnect must sign a fresh, newer timestamp (no replayed credentials).

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <thread>

#include "delivery_audit.hpp"
#include "scenario.hpp"
#include "wait_until.hpp"

namespace iot::test {
namespace {

using namespace std::chrono_literals;

TEST(Reconnect, RepeatedDropsUnderLoadLoseNothingAndNeverReplayASignature) {
    constexpr std::size_t kPerGroup = 4000;
    constexpr int kConnections = 2;
    constexpr int kInterruptions = 8;
    const auto started = std::chrono::steady_clock::now();
    ScenarioOptions options;
    options.strict_emulator = true;
    Scenario scenario(options);
    scenario.config().add_group("line-1", "CG-A", kConnections);
    scenario.config().add_group("line-2", "CG-B", kConnections);
    const std::vector<std::string> consumer_group_ids = {"CG-A", "CG-B"};
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready());
    ASSERT_TRUE(wait_until(
        "all receiver links attached",
        [&] {
            return scenario.counters("CG-A").links == kConnections && scenario.counters("CG-B").links == kConnections;
        },
        20s));

    // ~2 s of traffic per group, interrupted every 250 ms: drops (TCP gone,
    // no close frame) alternate with the cloud's forced close (9602).
    scenario.publish("CG-A", kPerGroup, "ra-", "kind=mixed rate=2000");
    scenario.publish("CG-B", kPerGroup, "rb-", "kind=mixed rate=2000");
    int interruptions = 0;
    for (int i = 0; i < kInterruptions; ++i) {
        std::this_thread::sleep_for(250ms);  // pacing the fault injection, not waiting for a result
        if (i % 2 == 0) {
            interruptions += static_cast<int>(scenario.emulator("drop")["dropped"].as_int());
        } else {
            interruptions += static_cast<int>(
                scenario.emulator("close condition=amqp:connection:forced description=deploy")["closed"].as_int());
        }
    }
    EXPECT_GT(interruptions, 0) << "the fault injection must have hit live connections";

    ASSERT_TRUE(scenario.wait_all_accepted(consumer_group_ids, 120s));
    auto expected = numbered_ids("ra-", kPerGroup);
    const auto b_ids = numbered_ids("rb-", kPerGroup);
    expected.insert(b_ids.begin(), b_ids.end());
    ASSERT_TRUE(scenario.messages().wait_for_count(expected.size(), 60s));

    const auto entries = JournalReader::read_all(by_identifier(scenario.message_identifier()));
    EXPECT_TRUE(exactly_once(
        audit_delivery(entries, expected, scenario.message_identifier(), {{"line-1", "CG-A"}, {"line-2", "CG-B"}})));

    // The last drop may have left a connection in its backoff (up to the
    // policy's max_delay): wait for it rather than look at one instant.
    for (const auto& id : consumer_group_ids) {
        EXPECT_TRUE(wait_until(
            id + ": every connection back",
            [&] {
                const auto counters = scenario.counters(id);
                return counters.connections == kConnections && counters.links == kConnections;
            },
            60s))
            << scenario.counters(id).summary();
    }

    std::int64_t redelivered = 0;
    for (const auto& id : consumer_group_ids) {
        const auto counters = scenario.counters(id);
        SCOPED_TRACE(id + ": " + counters.summary());
        EXPECT_EQ(counters.accepted, static_cast<std::int64_t>(kPerGroup));
        EXPECT_EQ(counters.in_flight, 0);
        EXPECT_EQ(counters.stale_timestamps, 0) << "a reconnect replayed or reused a signed timestamp";
        for (const auto& [client_id, stale] : counters.client_stale_timestamps) {
            EXPECT_EQ(stale, 0) << client_id;
        }
        EXPECT_EQ(counters.auth_failures, 0);
        EXPECT_GT(counters.connections_total, kConnections) << "the connections were never re-established";
        EXPECT_EQ(counters.connections, kConnections) << "every connection must be back";
        redelivered += counters.redelivered;
    }
    EXPECT_TRUE(scenario.wait_for_event("disconnected", 1, 5s));

    EXPECT_TRUE(scenario.stop_daemon(SIGTERM, 10s).clean());
    EXPECT_TRUE(scenario.no_secret_leaked());
    std::printf("[ scenario ] reconnect: %zu messages, %d interruptions, %lld redelivered, %.1f s\n", expected.size(),
                interruptions, static_cast<long long>(redelivered),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
}

}  // namespace
}  // namespace iot::test
