// Heartbeat: the cloud sees exactly the configured heartbeat as the Open
// frame's idle-time-out (proton advertises half of what it is given, so the
// daemon must give it twice the heartbeat), at both ends of the 30 s..300 s
// range the cloud accepts, and the emulator refuses none of them (9601).

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <regex>
#include <string>

#include "delivery_audit.hpp"
#include "scenario.hpp"
#include "wait_until.hpp"

namespace iot::test {
namespace {

using namespace std::chrono_literals;

// The idle_timeout_ms the emulator logged for a client's connection, or -1.
long long advertised_idle_timeout(const std::string& emulator_log, const std::string& client_id) {
    const std::regex line("event=connected .*client=" + client_id + " .*idle_timeout_ms=([0-9]+)");
    std::smatch match;
    if (!std::regex_search(emulator_log, match, line)) return -1;
    return std::stoll(match[1].str());
}

TEST(Heartbeat, TheCloudSeesTheConfiguredHeartbeatAtBothEndsOfItsRange) {
    const auto started = std::chrono::steady_clock::now();
    Scenario scenario;
    scenario.config().add_group("h30", "CG-A").heartbeat = "30s";
    scenario.config().add_group("h90", "CG-B").heartbeat = "90s";
    scenario.config().add_group("h300", "CG-C").heartbeat = "300s";
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready());
    ASSERT_TRUE(wait_until(
        "three links",
        [&] {
            return scenario.counters("CG-A").links == 1 && scenario.counters("CG-B").links == 1 &&
                   scenario.counters("CG-C").links == 1;
        },
        20s))
        << "a refused heartbeat keeps a group from linking";

    const auto log = scenario.emulator_log();
    const std::string prefix = "it-" + scenario.run_id() + "-";
    EXPECT_EQ(advertised_idle_timeout(log, prefix + "h30"), 30000);
    EXPECT_EQ(advertised_idle_timeout(log, prefix + "h90"), 90000);
    EXPECT_EQ(advertised_idle_timeout(log, prefix + "h300"), 300000);
    EXPECT_EQ(log.find("code=9601"), std::string::npos) << "the emulator refused a heartbeat";
    for (const auto* group : {"CG-A", "CG-B", "CG-C"}) {
        const auto counters = scenario.counters(group);
        EXPECT_EQ(counters.refused_attempts, 0) << group << ": " << counters.summary();
        EXPECT_EQ(counters.connections_total, 1) << group << ": " << counters.summary();
    }

    // And they deliver.
    for (const auto& [group, prefix_id] : {std::pair{"CG-A", "ha-"}, {"CG-B", "hb-"}, {"CG-C", "hc-"}}) {
        scenario.publish(group, 50, prefix_id);
    }
    ASSERT_TRUE(scenario.wait_all_accepted({"CG-A", "CG-B", "CG-C"}, 20s));
    ASSERT_TRUE(scenario.messages().wait_for_count(150, 10s));
    std::set<std::string> expected;
    for (const auto* id_prefix : {"ha-", "hb-", "hc-"}) {
        const auto ids = numbered_ids(id_prefix, 50);
        expected.insert(ids.begin(), ids.end());
    }
    EXPECT_TRUE(exactly_once(audit_delivery(JournalReader::read_all(by_identifier(scenario.message_identifier())),
                                            expected, scenario.message_identifier(),
                                            {{"h30", "CG-A"}, {"h90", "CG-B"}, {"h300", "CG-C"}})));
    EXPECT_TRUE(scenario.stop_daemon(SIGTERM, 10s).clean());
    std::printf("[ scenario ] heartbeat bounds: 150 messages, %.1f s\n",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
}

TEST(Heartbeat, OutOfRangeHeartbeatsAreConfigErrors) {
    Scenario scenario;
    scenario.config().add_group("low", "CG-A").heartbeat = "29s";
    scenario.config().add_group("high", "CG-B").heartbeat = "301s";
    scenario.write_config();
    std::string output;
    const auto status = scenario.check_config(&output);
    EXPECT_TRUE(status.exited && status.code == 78) << status.to_string() << "\n" << output;
    EXPECT_NE(output.find("consumer_groups[0].heartbeat"), std::string::npos) << output;
    EXPECT_NE(output.find("consumer_groups[1].heartbeat"), std::string::npos) << output;
}

}  // namespace
}  // namespace iot::test
