// Every IOT_EVENT name means one thing (issue 15 item 3): group_started named
// both the supervisor's "group started" line and the group's "remembered N
// message ids from the journal" line; the latter is dedup_seeded now. And each
// name has one MESSAGE_ID (issue 18 item 2), the key of its journal catalog
// entry: every event line carries the id of its event.

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>

#include "iot-amqpd/message_ids.hpp"
#include "journal_reader.hpp"
#include "scenario.hpp"

namespace iot::test {
namespace {

using namespace std::chrono_literals;

TEST(EventNames, GroupStartedAndDedupSeededAreDifferentLines) {
    Scenario scenario;
    scenario.config().add_group("a", "CG-A");
    scenario.config().add_group("b", "CG-B");
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready());
    ASSERT_TRUE(scenario.wait_for_event("dedup_seeded", 2, 10s));
    ASSERT_TRUE(scenario.wait_for_event("group_started", 2, 10s));
    for (const auto& entry : scenario.daemon_events("group_started"))
        EXPECT_EQ(field_or_empty(entry, "MESSAGE").find("remembered"), std::string::npos)
            << "group_started must not also name the dedup seeding: " << field_or_empty(entry, "MESSAGE");
    for (const auto& entry : scenario.daemon_events("dedup_seeded"))
        EXPECT_NE(field_or_empty(entry, "MESSAGE").find("remembered"), std::string::npos)
            << field_or_empty(entry, "MESSAGE");
    EXPECT_EQ(scenario.daemon_events("group_started").size(), 2u);
    EXPECT_TRUE(scenario.stop_daemon(SIGTERM, 10s).clean());
}

// A wrong secret gives an auth_failed line quickly; `journalctl MESSAGE_ID=<id>`
// finds it by the id alone, and every event line of the run (ready,
// group_started, dedup_seeded, auth_failed, stopping, stopped, ...) carries the
// MESSAGE_ID message_ids.hpp gives its event.
TEST(EventNames, EveryEventLineCarriesItsMessageId) {
    Scenario scenario;
    scenario.write_secret("wrong-" + scenario.run_id() + "-c0ffee0123456789");
    scenario.config().add_group("plant", "CG-A", 1);
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready());
    ASSERT_TRUE(scenario.wait_for_event("auth_failed", 1, 15s));

    const std::string auth_id(message_id_for("auth_failed"));
    ASSERT_FALSE(auth_id.empty());
    const auto failures = scenario.daemon_events("auth_failed");
    ASSERT_EQ(failures.size(), 1u);
    const std::string pid = field_or_empty(failures[0], "_PID");
    std::size_t found_by_id = 0;
    for (const auto& entry : JournalReader::read_all({{"MESSAGE_ID", {auth_id}}})) {
        EXPECT_EQ(field_or_empty(entry, "IOT_EVENT"), "auth_failed") << field_or_empty(entry, "MESSAGE");
        if (field_or_empty(entry, "_PID") == pid) ++found_by_id;
    }
    EXPECT_EQ(found_by_id, 1u) << "MESSAGE_ID=" << auth_id << " should find this run's auth_failed line";

    EXPECT_TRUE(scenario.stop_daemon(SIGTERM, 10s).clean());
    std::set<std::string> events;
    for (const auto& entry : scenario.daemon_log()) {
        const std::string event = field_or_empty(entry, "IOT_EVENT");
        if (event.empty()) continue;
        events.insert(event);
        EXPECT_EQ(field_or_empty(entry, "MESSAGE_ID"), message_id_for(event))
            << "IOT_EVENT=" << event << ": " << field_or_empty(entry, "MESSAGE");
    }
    for (const char* event : {"ready", "group_started", "dedup_seeded", "auth_failed", "stopping", "stopped"})
        EXPECT_EQ(events.count(event), 1u) << "no IOT_EVENT=" << event << " line in this run";
}

}  // namespace
}  // namespace iot::test
