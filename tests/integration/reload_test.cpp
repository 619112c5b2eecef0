// Reload (SIGHUP): a group added, one removed, one changed, and then an
// invalid file. Unchanged groups keep their connections (the emulator's
// per-client connection count does not move), the invalid file is refused
// with file:line:col errors while the old config keeps running, and
// READY=1 follows RELOADING=1 every time.

#include <gtest/gtest.h>

#include <time.h>

#include <chrono>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "delivery_audit.hpp"
#include "scenario.hpp"
#include "wait_until.hpp"

namespace iot::test {
namespace {

using namespace std::chrono_literals;

std::int64_t monotonic_usec_now() {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<std::int64_t>(now.tv_sec) * 1'000'000 + now.tv_nsec / 1000;
}

// 1-based line of the first line of `text` that equals `line`; 0 when none.
int line_number(const std::string& text, const std::string& line) {
    std::istringstream lines(text);
    std::string current;
    for (int number = 1; std::getline(lines, current); ++number) {
        if (current == line) return number;
    }
    return 0;
}

std::vector<JournalEntry> entries_with_prefix(const std::vector<JournalEntry>& entries, const std::string& prefix) {
    std::vector<JournalEntry> found;
    for (const auto& entry : entries) {
        if (field_or_empty(entry, "IOT_MESSAGE_ID").rfind(prefix, 0) == 0) found.push_back(entry);
    }
    return found;
}

TEST(Reload, AddRemoveChangeAndAnInvalidFileKeepUnchangedGroupsConnected) {
    constexpr std::size_t kBatch = 100;
    const auto started = std::chrono::steady_clock::now();
    Scenario scenario;
    auto& config = scenario.config();
    config.add_group("keep", "CG-A");
    config.add_group("change", "CG-B");
    config.add_group("drop", "CG-C");
    const std::string keep_client = "it-" + scenario.run_id() + "-keep";
    const std::string change_client = "it-" + scenario.run_id() + "-change";
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready());
    ASSERT_TRUE(wait_until(
        "three links",
        [&] {
            return scenario.counters("CG-A").links == 1 && scenario.counters("CG-B").links == 1 &&
                   scenario.counters("CG-C").links == 1;
        },
        20s));
    for (const auto& [group, prefix] : {std::pair{"CG-A", "r1a-"}, {"CG-B", "r1b-"}, {"CG-C", "r1c-"}}) {
        scenario.publish(group, kBatch, prefix);
    }
    ASSERT_TRUE(scenario.wait_all_accepted({"CG-A", "CG-B", "CG-C"}, 30s));
    ASSERT_EQ(scenario.counters("CG-A").connections_of(keep_client), 1);

    // ---- reload 1: add, remove, change ----
    config.remove_group("drop");
    config.find_group("change")->credit = 50;
    config.add_group("new", "CG-D");
    scenario.write_config();
    const auto before_reload_usec = monotonic_usec_now();
    ASSERT_TRUE(scenario.reload());
    {
        const auto datagrams = scenario.notify().datagrams();
        const NotifyDatagram* reloading = nullptr;
        for (const auto& datagram : datagrams) {
            if (datagram.has_line("RELOADING=1")) reloading = &datagram;
        }
        ASSERT_NE(reloading, nullptr);
        const auto usec = reloading->value_of("MONOTONIC_USEC");
        ASSERT_TRUE(usec.has_value()) << "RELOADING=1 must come with MONOTONIC_USEC=";
        const auto value = std::stoll(*usec);
        EXPECT_GE(value, before_reload_usec);
        EXPECT_LE(value, monotonic_usec_now());
    }
    ASSERT_TRUE(scenario.wait_for_event("reloaded", 1, 10s));
    ASSERT_TRUE(wait_until(
        "the new group linked, the removed one gone, the changed one reconnected",
        [&] {
            const auto changed = scenario.counters("CG-B");
            return scenario.counters("CG-D").links == 1 && scenario.counters("CG-C").connections == 0 &&
                   changed.links == 1 && changed.connections_of(change_client) == 2;
        },
        20s));
    {
        const auto keep = scenario.counters("CG-A");
        EXPECT_EQ(keep.connections_of(keep_client), 1) << "an unchanged group must not reconnect";
        EXPECT_EQ(keep.connections, 1);
    }

    for (const auto& [group, prefix] : {std::pair{"CG-A", "r2a-"}, {"CG-B", "r2b-"}, {"CG-D", "r2d-"}}) {
        scenario.publish(group, kBatch, prefix);
    }
    scenario.publish("CG-C", kBatch, "r2c-");  // nobody consumes the removed group any more
    ASSERT_TRUE(scenario.wait_all_accepted({"CG-A", "CG-B", "CG-D"}, 30s));
    ASSERT_TRUE(scenario.messages().wait_for_count(6 * kBatch, 30s));

    // ---- reload 2: an invalid file ----
    config.find_group("keep")->heartbeat = "10s";
    config.find_group("change")->extra_lines.push_back("no_such_key: 1");
    scenario.write_config();
    const auto yaml = config.to_yaml();
    const int heartbeat_line = line_number(yaml, "    heartbeat: 10s");
    const int unknown_line = line_number(yaml, "    no_such_key: 1");
    ASSERT_GT(heartbeat_line, 0);
    ASSERT_TRUE(scenario.reload()) << "READY=1 must follow a failed reload too";
    ASSERT_TRUE(scenario.wait_for_event("reload_failed", 2, 10s));
    {
        std::string errors;
        for (const auto& entry : scenario.daemon_events("reload_failed"))
            errors += field_or_empty(entry, "MESSAGE") + "\n";
        const auto path = scenario.config_path().string();
        EXPECT_NE(errors.find(path + ":" + std::to_string(heartbeat_line) + ":"), std::string::npos) << errors;
        EXPECT_NE(errors.find("consumer_groups[0].heartbeat"), std::string::npos) << errors;
        EXPECT_NE(errors.find(path + ":" + std::to_string(unknown_line) + ":"), std::string::npos) << errors;
        EXPECT_NE(errors.find("no_such_key"), std::string::npos) << errors;
        const auto status = scenario.notify().last_value("STATUS").value_or("");
        EXPECT_NE(status.find("reload failed"), std::string::npos)
            << "STATUS= should name the failed reload: " << status;

        std::string check_output;
        const auto check = scenario.check_config(&check_output);
        EXPECT_TRUE(check.exited && check.code == 78) << check.to_string();
        EXPECT_NE(check_output.find(path + ":" + std::to_string(heartbeat_line) + ":"), std::string::npos)
            << check_output;
    }

    // The old config keeps running, untouched.
    scenario.publish("CG-A", kBatch, "r3a-");
    scenario.publish("CG-D", kBatch, "r3d-");
    ASSERT_TRUE(scenario.wait_all_accepted({"CG-A", "CG-D"}, 30s));
    {
        const auto keep = scenario.counters("CG-A");
        EXPECT_EQ(keep.connections_of(keep_client), 1) << "a failed reload must not touch running groups";
        EXPECT_EQ(scenario.counters("CG-B").connections_of(change_client), 2);
        const auto removed = scenario.counters("CG-C");
        EXPECT_EQ(removed.accepted, static_cast<std::int64_t>(kBatch)) << "the removed group must stay stopped";
        EXPECT_EQ(removed.connections, 0);
    }

    ASSERT_TRUE(scenario.messages().wait_for_count(8 * kBatch, 30s));
    const auto entries = JournalReader::read_all(by_identifier(scenario.message_identifier()));
    std::set<std::string> expected;
    for (const auto* prefix : {"r1a-", "r1b-", "r1c-", "r2a-", "r2b-", "r2d-", "r3a-", "r3d-"}) {
        const auto ids = numbered_ids(prefix, kBatch);
        expected.insert(ids.begin(), ids.end());
    }
    EXPECT_TRUE(
        exactly_once(audit_delivery(entries, expected, scenario.message_identifier(),
                                    {{"keep", "CG-A"}, {"change", "CG-B"}, {"drop", "CG-C"}, {"new", "CG-D"}})));
    EXPECT_TRUE(entries_with_prefix(entries, "r2c-").empty());

    EXPECT_TRUE(scenario.stop_daemon(SIGTERM, 10s).clean());
    EXPECT_TRUE(scenario.no_secret_leaked());
    std::printf("[ scenario ] reload: %zu messages, 2 reloads, %.1f s\n", expected.size(),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
}

}  // namespace
}  // namespace iot::test
