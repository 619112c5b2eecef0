// Scale-out (DESIGN.md §12): two daemon processes with different client ids
// on the same consumer group share its stream (both receive some of it), and
// `kill -9` of one mid-stream loses nothing: the emulator returns what the
// dead one left unsettled to the group, and the survivor writes it. The
// survivor cannot know which of those the dead one had already written, so
// a few duplicates are expected: at most what it may hold written and not yet
// acknowledged, twice its credit (`credit` held deliveries waiting to be read
// back from the journal, and up to `credit` more in flight that arrive after
// its credit ran out; see ARCHITECTURE.md "Credit is the back-pressure").

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <map>
#include <string>

#include "daemon_launch.hpp"
#include "delivery_audit.hpp"
#include "fault_verdict.hpp"
#include "scenario.hpp"
#include "wait_until.hpp"

namespace iot::test {
namespace {

using namespace std::chrono_literals;

TEST(ScaleOut, TwoDaemonsShareAGroupAndTheSurvivorOfAKillNineGetsTheRest) {
    constexpr std::size_t kMessages = 6000;
    constexpr int kCredit = 50;
    const auto started = std::chrono::steady_clock::now();
    Scenario scenario;
    auto& config = scenario.config();
    config.credit = kCredit;
    config.add_group("shared", "CG-A", 1);
    const std::string survivor_client = "it-" + scenario.run_id() + "-a-shared";
    const std::string victim_client = "it-" + scenario.run_id() + "-b-shared";

    // Host A: the scenario's own daemon. Host B: the same group under another client id.
    config.client_id = "it-" + scenario.run_id() + "-a-%g";
    scenario.write_config();
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready());
    auto host_b = config;
    host_b.client_id = "it-" + scenario.run_id() + "-b-%g";
    const auto config_b = scenario.dir() / "iot-amqpd-b.yaml";
    write_file(config_b, host_b.to_yaml());
    DaemonLaunch launch_b;
    launch_b.name = "daemon-b";
    launch_b.config_path = config_b;
    const auto launched_at = std::chrono::steady_clock::now();
    auto victim = launch_daemon(scenario, launch_b);
    ASSERT_TRUE(wait_ready_since(scenario, *victim, launched_at));
    ASSERT_TRUE(wait_until(
        "both hosts linked", [&] { return scenario.counters("CG-A").links == 2; }, 20s));

    // As fast as it goes, so each host always holds deliveries it has not settled.
    scenario.publish("CG-A", kMessages, "scale-", "kind=mixed");
    ASSERT_TRUE(wait_until(
        "a third of the stream accepted",
        [&] { return scenario.counters("CG-A").accepted >= static_cast<std::int64_t>(kMessages / 3); }, 30s, 10ms));
    victim->signal(SIGKILL);
    const auto killed = victim->wait_or_kill(10s);
    EXPECT_EQ(killed.signal, SIGKILL) << killed.to_string();
    const auto at_kill = scenario.counters("CG-A");
    EXPECT_LT(at_kill.accepted, static_cast<std::int64_t>(kMessages)) << "the kill must hit the stream";
    EXPECT_GT(at_kill.in_flight, 0) << "the victim must have held unsettled deliveries";

    EXPECT_TRUE(emulator_settled(scenario, {"CG-A"}, static_cast<std::int64_t>(kMessages), 60s));
    const auto expected = numbered_ids("scale-", kMessages);
    const auto entries = final_message_entries(scenario, kMessages, 30s);
    const auto audit = audit_delivery(entries, expected, scenario.message_identifier(), {{"shared", "CG-A"}});
    EXPECT_TRUE(audit.missing.empty()) << audit.report();
    EXPECT_TRUE(audit.unexpected.empty() && audit.malformed.empty()) << audit.report();
    // Duplicates only of what the victim wrote but had not yet acknowledged: at most twice its credit.
    EXPECT_LE(audit.duplicated.size(), static_cast<std::size_t>(2 * kCredit)) << audit.report();
    std::map<std::string, std::size_t> by_client;
    for (const auto& entry : entries) ++by_client[field_or_empty(entry, "IOT_CLIENT_ID")];
    EXPECT_GT(by_client[victim_client], 0u);
    EXPECT_GT(by_client[survivor_client], 0u);
    const auto final_counters = scenario.counters("CG-A");
    EXPECT_GT(final_counters.redelivered, 0) << "the victim's unsettled deliveries go to the survivor";
    EXPECT_TRUE(wait_until(
        "only the survivor connected", [&] { return scenario.counters("CG-A").connections == 1; }, 10s))
        << scenario.counters("CG-A").summary();
    EXPECT_TRUE(daemon_healthy(scenario, 1));
    print_table_row("scale-out: 2 daemons, kill -9 one", tally(entries, expected), started,
                    "survivor wrote " + std::to_string(by_client[survivor_client]) + ", victim " +
                        std::to_string(by_client[victim_client]) +
                        ", redelivered=" + std::to_string(final_counters.redelivered));
    EXPECT_TRUE(scenario.stop_daemon(SIGTERM, 10s).clean());
}

}  // namespace
}  // namespace iot::test
