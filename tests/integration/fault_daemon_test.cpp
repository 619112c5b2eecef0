// Fault matrix, the daemon itself: `kill -9` mid-stream and a restart (the
// dedup window seeded from the journal must keep the redelivered messages
// from being written twice: zero duplicates), SIGTERM mid-stream and a
// restart, and a hundred SIGHUP reloads under load alternating a valid and an
// invalid file. Every published messageId ends up in the journal exactly once.

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <string>
#include <thread>

#include "delivery_audit.hpp"
#include "fault_verdict.hpp"
#include "scenario.hpp"
#include "wait_until.hpp"

namespace iot::test {
namespace {

using namespace std::chrono_literals;

// Stops the running daemon with `signal_number` once `in_journal` messages
// are written, starts a new one on the same config, and checks the outcome.
void stop_mid_stream_and_restart(const std::string& case_name, int signal_number, const std::string& prefix) {
    constexpr std::size_t kMessages = 3000;
    const auto started = std::chrono::steady_clock::now();
    Scenario scenario;
    scenario.config().add_group("restarted", "CG-A", 2);
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready());
    ASSERT_TRUE(scenario.wait_for_links("CG-A", 2));

    // kill -9: as fast as it goes, so the daemon always holds deliveries it has
    // not settled. SIGTERM: a paced stream, so the stop comes mid-stream.
    scenario.publish("CG-A", kMessages, prefix, signal_number == SIGKILL ? "kind=mixed" : "kind=mixed rate=1000");
    ASSERT_TRUE(wait_until(
        "the stream flowing", [&] { return scenario.counters("CG-A").accepted >= 300; }, 20s, 10ms))
        << "the stream must be flowing before the stop";
    const auto status = scenario.stop_daemon(signal_number, 10s);
    if (signal_number == SIGKILL) {
        EXPECT_EQ(status.signal, SIGKILL) << status.to_string();
    } else {
        EXPECT_TRUE(status.clean()) << "SIGTERM must drain and exit 0 within 10 s: " << status.to_string();
    }
    const auto at_stop = scenario.counters("CG-A");
    EXPECT_LT(at_stop.accepted, static_cast<std::int64_t>(kMessages)) << "the stop must have hit the stream";

    ASSERT_TRUE(scenario.start_daemon_and_wait_ready());
    EXPECT_TRUE(emulator_settled(scenario, {"CG-A"}, kMessages, 60s));
    const auto entries = final_message_entries(scenario, kMessages, 30s);
    const auto expected = numbered_ids(prefix, kMessages);
    EXPECT_TRUE(exactly_once(audit_delivery(entries, expected, scenario.message_identifier(), {{"restarted", "CG-A"}})))
        << "a restart must neither lose a message nor write a redelivered one twice";
    EXPECT_TRUE(daemon_healthy(scenario, 1));
    const auto final_counters = scenario.counters("CG-A");
    print_table_row(case_name, tally(entries, expected), started,
                    "redelivered=" + std::to_string(final_counters.redelivered));
    if (signal_number == SIGKILL) {
        EXPECT_GT(final_counters.redelivered, 0) << "a kill -9 leaves deliveries unsettled; the emulator redelivers";
    }
    EXPECT_TRUE(scenario.stop_daemon(SIGTERM, 10s).clean());
}

TEST(FaultDaemon, KillNineMidStreamThenRestartWritesNoDuplicate) {
    stop_mid_stream_and_restart("daemon kill -9 + restart", SIGKILL, "k9-");
}

TEST(FaultDaemon, SigtermMidStreamDrainsThenRestartLosesNothing) {
    stop_mid_stream_and_restart("daemon SIGTERM + restart", SIGTERM, "term-");
}

TEST(FaultDaemon, HundredReloadsUnderLoadAlternatingValidAndInvalidFiles) {
    constexpr std::size_t kPerGroup = 2000;
    constexpr int kReloads = 100;
    const auto started = std::chrono::steady_clock::now();
    Scenario scenario;
    auto& config = scenario.config();
    config.add_group("steady", "CG-A", 1);  // identical in every valid file: must keep its connection
    config.add_group("churn", "CG-B", 1);   // its credit changes in every valid file: restarted each time
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready());
    ASSERT_TRUE(scenario.wait_for_links("CG-A", 1));
    ASSERT_TRUE(scenario.wait_for_links("CG-B", 1));

    scenario.publish("CG-A", kPerGroup, "hup-a-", "kind=mixed rate=250");
    scenario.publish("CG-B", kPerGroup, "hup-b-", "kind=mixed rate=250");
    int failed_reloads = 0;
    const std::string churn_client = "it-" + scenario.run_id() + "-churn";
    std::int64_t churn_connections = 1;
    for (int i = 0; i < kReloads; ++i) {
        const bool valid = i % 2 == 0;
        if (valid) {
            config.find_group("churn")->credit = (i / 2) % 2 == 0 ? 50 : 60;
            scenario.write_config();
        } else {
            // A file that parses but does not validate: the old config must keep running.
            auto broken = config;
            broken.find_group("steady")->heartbeat = "10s";
            scenario.write_config_text(broken.to_yaml());
        }
        const auto reloaded = scenario.reload(10s);
        if (!reloaded) {
            ADD_FAILURE() << "reload " << i << " (" << (valid ? "valid" : "invalid") << "): " << reloaded.message();
            if (++failed_reloads > 3) break;
        }
        if (i % 8 == 0) {
            // Every fourth valid reload, the restarted group reconnects and
            // receives before the next one (the others restart it while it
            // is still connecting, which must be safe too).
            ASSERT_TRUE(wait_until(
                "the restarted group's new connection",
                [&] {
                    const auto c = scenario.counters("CG-B");
                    const auto found = c.client_connections_total.find(churn_client);
                    return c.links == 1 && found != c.client_connections_total.end() &&
                           found->second > churn_connections;
                },
                10s))
                << "after reload " << i;
            churn_connections = scenario.counters("CG-B").client_connections_total[churn_client];
        }
    }
    const auto reload_time = std::chrono::steady_clock::now() - started;

    EXPECT_TRUE(emulator_settled(scenario, {"CG-A", "CG-B"}, kPerGroup, 60s));
    auto expected = numbered_ids("hup-a-", kPerGroup);
    const auto b_ids = numbered_ids("hup-b-", kPerGroup);
    expected.insert(b_ids.begin(), b_ids.end());
    const auto entries = final_message_entries(scenario, expected.size(), 30s);
    EXPECT_TRUE(exactly_once(
        audit_delivery(entries, expected, scenario.message_identifier(), {{"steady", "CG-A"}, {"churn", "CG-B"}})));

    EXPECT_TRUE(scenario.wait_for_event("reloaded", kReloads / 2, 10s));
    EXPECT_TRUE(scenario.wait_for_event("reload_failed", kReloads / 2, 10s));
    const std::string steady_client = "it-" + scenario.run_id() + "-steady";
    const auto connections_of = [&](const std::string& consumer_group_id, const std::string& client_id) {
        const auto all = scenario.counters(consumer_group_id).client_connections_total;
        const auto found = all.find(client_id);
        return found == all.end() ? std::int64_t{0} : found->second;
    };
    EXPECT_EQ(connections_of("CG-A", steady_client), 1)
        << "an unchanged group must keep its connection through every reload";
    EXPECT_GE(connections_of("CG-B", churn_client), 1 + kReloads / 8)
        << "the changed group restarts and reconnects on valid reloads";
    EXPECT_TRUE(daemon_healthy(scenario, 2));
    print_table_row("SIGHUP x" + std::to_string(kReloads) + " (valid/invalid)", tally(entries, expected), started,
                    "reloads took " + format_seconds(reload_time));
    EXPECT_TRUE(scenario.stop_daemon(SIGTERM, 10s).clean());
}

}  // namespace
}  // namespace iot::test
