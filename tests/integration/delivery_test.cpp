// Delivery: thousands of messages over several groups and connections reach
// the journal exactly once, with every DESIGN.md §6 field, and every one is
// accepted at the emulator (nothing unsettled, nothing redelivered).

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <string>

#include "delivery_audit.hpp"
#include "message_expectations.hpp"
#include "scenario.hpp"
#include "wait_until.hpp"

namespace iot::test {
namespace {

using namespace std::chrono_literals;

struct GroupUnderTest {
    std::string name;
    std::string consumer_group_id;
    std::string id_prefix;
};

TEST(Delivery, SixThousandMessagesOverThreeGroupsExactlyOnceWithEveryField) {
    constexpr std::size_t kPerGroup = 2000;
    constexpr int kConnections = 2;
    const auto started = std::chrono::steady_clock::now();
    Scenario scenario;
    const std::vector<GroupUnderTest> groups = {
        {"factory-a", "CG-A", "a-"}, {"factory-b", "CG-B", "b-"}, {"factory-c", "CG-C", "c-"}};
    std::map<std::string, std::string> group_ids;
    std::vector<std::string> consumer_group_ids;
    for (const auto& group : groups) {
        scenario.config().add_group(group.name, group.consumer_group_id, kConnections);
        group_ids[group.name] = group.consumer_group_id;
        consumer_group_ids.push_back(group.consumer_group_id);
    }
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready());
    ASSERT_TRUE(wait_until(
        "every connection's receiver link attached",
        [&] {
            for (const auto& group : groups) {
                if (scenario.counters(group.consumer_group_id).links != kConnections) return false;
            }
            return true;
        },
        20s));

    std::set<std::string> expected;
    std::map<std::string, emu::PublishSpec> specs;  // by id prefix
    for (const auto& group : groups) {
        scenario.publish(group.consumer_group_id, kPerGroup, group.id_prefix, "kind=mixed");
        emu::PublishSpec spec;
        spec.group = group.consumer_group_id;
        spec.count = kPerGroup;
        spec.kind.reset();
        spec.id_prefix = group.id_prefix;
        specs[group.id_prefix] = spec;
        const auto ids = numbered_ids(group.id_prefix, kPerGroup);
        expected.insert(ids.begin(), ids.end());
    }

    ASSERT_TRUE(scenario.wait_all_accepted(consumer_group_ids, 120s));
    ASSERT_TRUE(scenario.messages().wait_for_count(expected.size(), 60s));

    // The verdict from a fresh read of the journal.
    const auto entries = JournalReader::read_all(by_identifier(scenario.message_identifier()));
    EXPECT_TRUE(exactly_once(audit_delivery(entries, expected, scenario.message_identifier(), group_ids)));

    std::vector<std::string> wrong;
    std::map<std::string, std::set<std::string>> client_ids_by_group;
    for (const auto& entry : entries) {
        const auto id = field_or_empty(entry, "IOT_MESSAGE_ID");
        const auto spec = specs.find(id.substr(0, 2));
        if (spec == specs.end()) continue;  // the audit reported it
        if (auto problem = compare_with_published(entry, spec->second); !problem.empty()) wrong.push_back(problem);
        client_ids_by_group[field_or_empty(entry, "IOT_CONSUMER_GROUP")].insert(field_or_empty(entry, "IOT_CLIENT_ID"));
    }
    EXPECT_TRUE(wrong.empty()) << wrong.size() << " entries differ from what was published, e.g. " << wrong.front();
    for (const auto& group : groups) {
        const std::string prefix = "it-" + scenario.run_id() + "-" + group.name;
        EXPECT_EQ(client_ids_by_group[group.name], (std::set<std::string>{prefix + "-1", prefix + "-2"}))
            << "both connections of " << group.name << " should have received messages";
    }

    for (const auto& group : groups) {
        const auto counters = scenario.counters(group.consumer_group_id);
        SCOPED_TRACE(group.consumer_group_id + ": " + counters.summary());
        EXPECT_EQ(counters.published, static_cast<std::int64_t>(kPerGroup));
        EXPECT_EQ(counters.accepted, counters.published);
        EXPECT_EQ(counters.in_flight, 0);
        EXPECT_EQ(counters.redelivered, 0) << "a clean run needs no redelivery";
        EXPECT_EQ(counters.released + counters.rejected + counters.modified, 0);
        EXPECT_EQ(counters.connections_total, kConnections) << "no reconnects in a clean run";
    }
    EXPECT_TRUE(scenario.notify().last_value("STATUS").has_value());

    const auto status = scenario.stop_daemon(SIGTERM, 10s);
    EXPECT_TRUE(status.clean()) << status.to_string();
    EXPECT_TRUE(scenario.notify().wait_for("STOPPING=1", 1s));
    EXPECT_TRUE(scenario.no_secret_leaked());
    std::printf("[ scenario ] delivery: %zu messages, %.1f s\n", expected.size(),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
}

}  // namespace
}  // namespace iot::test
