// Every IOT_EVENT name means one thing (issue 15 item 3): group_started named
// both the supervisor's "group started" line and the group's "remembered N
// message ids from the journal" line; the latter is dedup_seeded now.

#include <gtest/gtest.h>

#include <chrono>
#include <string>

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

}  // namespace
}  // namespace iot::test
