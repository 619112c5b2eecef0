// Resource bounds: memory stays bounded by the credit under a backlog flood
// of large messages; 64 consumer groups start and stop cleanly; and file
// descriptors do not leak across a storm of reconnects.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "delivery_audit.hpp"
#include "fault_verdict.hpp"
#include "process_probe.hpp"
#include "sanitizer_build.hpp"
#include "scenario.hpp"
#include "wait_until.hpp"

namespace iot::test {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> numbered_groups(std::size_t count) {
    std::vector<std::string> ids;
    for (std::size_t i = 0; i < count; ++i) {
        char id[16];
        std::snprintf(id, sizeof id, "CG-%02zu", i);
        ids.emplace_back(id);
    }
    return ids;
}

// The sum of one emulator counter over the groups ("links", "connections_total").
std::int64_t sum_of(Scenario& scenario, const std::vector<std::string>& consumer_group_ids, const char* counter) {
    const auto stats = scenario.emulator("stats");
    std::int64_t sum = 0;
    for (const auto& id : consumer_group_ids) {
        const auto& value = stats["groups"][id][counter];
        sum += value.is_number() ? value.as_int() : 0;
    }
    return sum;
}

std::int64_t total_links(Scenario& scenario, const std::vector<std::string>& consumer_group_ids) {
    return sum_of(scenario, consumer_group_ids, "links");
}

// The descriptor count once it holds still for two readings 200 ms apart.
std::optional<std::size_t> settled_fd_count(pid_t pid) {
    std::optional<std::size_t> previous;
    std::optional<std::size_t> settled;
    (void)wait_until(
        "a steady descriptor count",
        [&] {
            const auto now = proc::open_fd_count(pid);
            if (now && previous && *now == *previous) settled = now;
            previous = now;
            return settled.has_value();
        },
        5s, 200ms);
    return settled;
}

TEST(ResourceBounds, MemoryStaysBoundedByTheCreditUnderABacklogFlood) {
    if (kSanitizerBuild)
        GTEST_SKIP() << "VmHWM means nothing under a sanitizer (ASan keeps freed memory in quarantine)";
    constexpr std::size_t kMessages = 2000;
    constexpr std::size_t kSize = 64 * 1024;
    constexpr int kCredit = 20;
    const auto started = std::chrono::steady_clock::now();
    Scenario scenario;
    scenario.config().credit = kCredit;
    scenario.config().add_group("flood", "CG-A", 1);
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready());
    ASSERT_TRUE(wait_until(
        "the link", [&] { return scenario.counters("CG-A").links == 1; }, 20s));
    // Warm up with a few large messages, so the baseline includes buffers that
    // are allocated once (TLS records, the message and journal scratch).
    scenario.publish("CG-A", 2 * kCredit, "warm-", "kind=custom_text size=" + std::to_string(kSize));
    ASSERT_TRUE(scenario.wait_all_accepted({"CG-A"}, 30s));
    const auto pid = scenario.daemon()->pid();
    // The start-up peak (seeding dedup maps journal files) would hide the flood's.
    ASSERT_TRUE(proc::reset_peak_memory(pid));
    const auto baseline = proc::memory_usage(pid);
    ASSERT_TRUE(baseline.has_value());

    // The flood: all of it queued at once, far more than the credit.
    scenario.publish("CG-A", kMessages, "flood-", "kind=custom_text size=" + std::to_string(kSize));
    std::int64_t worst_queue = 0;
    ASSERT_TRUE(wait_until(
        "the flood accepted",
        [&] {
            const auto c = scenario.counters("CG-A");
            worst_queue = std::max(worst_queue, c.queued);
            return c.accepted >= static_cast<std::int64_t>(kMessages + 2 * kCredit) && c.in_flight == 0 &&
                   c.queued == 0;
        },
        120s, 200ms));
    const auto after = proc::memory_usage(pid);
    ASSERT_TRUE(after.has_value());

    // The daemon holds at most 2 × credit messages: `credit` in flight and as
    // many written ones waiting for journald to read them (proton keeps a
    // delivery's buffer until it is settled). Allow 2 copies of each (the
    // buffer and the decoded message) plus 6 MiB (TLS, scratch, allocator slack).
    const std::int64_t credit_kib = static_cast<std::int64_t>(kCredit * kSize / 1024);
    const std::int64_t bound_kib = baseline->current_kib + 2 * 2 * credit_kib + 6 * 1024;
    const std::int64_t flood_kib = static_cast<std::int64_t>(kMessages * kSize / 1024);
    EXPECT_LE(after->peak_kib, bound_kib) << "VmHWM grew from " << baseline->current_kib << " KiB to "
                                          << after->peak_kib << " KiB under a " << flood_kib << " KiB flood";
    EXPECT_LE(after->peak_kib, 48 * 1024) << "an idle daemon needs under 20 MiB; under a flood it must stay far "
                                             "below the flood's size";
    EXPECT_GT(worst_queue, static_cast<std::int64_t>(kMessages) / 2) << "the flood must have been a backlog";

    const auto expected = numbered_ids("flood-", kMessages);
    const auto entries = final_message_entries(scenario, kMessages + 2 * kCredit, 60s);
    std::vector<JournalEntry> flood_entries;
    for (const auto& entry : entries) {
        if (field_or_empty(entry, "IOT_MESSAGE_ID").rfind("flood-", 0) == 0) flood_entries.push_back(entry);
    }
    EXPECT_TRUE(
        exactly_once(audit_delivery(flood_entries, expected, scenario.message_identifier(), {{"flood", "CG-A"}})));
    EXPECT_TRUE(daemon_healthy(scenario, 1));
    print_table_row("backlog flood 2000 x 64 KiB, credit 20", tally(flood_entries, expected), started,
                    "VmRSS " + std::to_string(baseline->current_kib) + " -> VmHWM " + std::to_string(after->peak_kib) +
                        " KiB (bound " + std::to_string(bound_kib) + ", flood " + std::to_string(flood_kib) + ")");
    EXPECT_TRUE(scenario.stop_daemon(SIGTERM, 10s).clean());
}

TEST(ResourceBounds, SixtyFourGroupsStartAndStopCleanly) {
    constexpr std::size_t kGroups = 64;
    constexpr std::size_t kPerGroup = 20;
    const auto started = std::chrono::steady_clock::now();
    ScenarioOptions options;
    options.consumer_group_ids = numbered_groups(kGroups);
    Scenario scenario(options);
    for (const auto& id : options.consumer_group_ids) scenario.config().add_group("g" + id.substr(3), id, 1);
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready(30s));
    ASSERT_TRUE(wait_until(
        "64 links", [&] { return total_links(scenario, options.consumer_group_ids) == kGroups; }, 60s, 250ms))
        << total_links(scenario, options.consumer_group_ids) << " links";
    for (const auto& id : options.consumer_group_ids) scenario.publish(id, kPerGroup, id + "-");
    EXPECT_TRUE(emulator_settled(scenario, options.consumer_group_ids, kPerGroup, 60s));
    std::set<std::string> expected;
    for (const auto& id : options.consumer_group_ids) {
        const auto ids = numbered_ids(id + "-", kPerGroup);
        expected.insert(ids.begin(), ids.end());
    }
    const auto entries = final_message_entries(scenario, expected.size(), 30s);
    EXPECT_TRUE(exactly_once(audit_delivery(entries, expected, scenario.message_identifier())));
    EXPECT_TRUE(daemon_healthy(scenario, kGroups, 30s));
    const auto threads = proc::thread_count(scenario.daemon()->pid());

    const auto stop_began = std::chrono::steady_clock::now();
    const auto status = scenario.stop_daemon(SIGTERM, 15s);
    const auto stop_time = std::chrono::steady_clock::now() - stop_began;
    EXPECT_TRUE(status.clean()) << status.to_string();
    EXPECT_LT(stop_time, 10s) << "SIGTERM must stop 64 groups within 10 s, took " << format_seconds(stop_time);
    EXPECT_TRUE(scenario.notify().wait_for("STOPPING=1", 1s));
    EXPECT_TRUE(wait_until(
        "every connection closed", [&] { return total_links(scenario, options.consumer_group_ids) == 0; }, 5s));
    print_table_row("64 groups start + SIGTERM", tally(entries, expected), started,
                    "stop " + format_seconds(stop_time) + ", " + std::to_string(threads.value_or(0)) + " threads");
}

TEST(ResourceBounds, FileDescriptorsDoNotLeakAcrossAThousandReconnects) {
    constexpr std::size_t kGroups = 20;
    constexpr int kRounds = 50;  // each round drops (or closes) every group's connection: 20 x 50 = 1000 reconnects
    constexpr std::size_t kPerGroup = 100;
    const auto started = std::chrono::steady_clock::now();
    ScenarioOptions options;
    options.consumer_group_ids = numbered_groups(kGroups);
    Scenario scenario(options);
    auto& config = scenario.config();
    config.reconnect_initial_delay = "100ms";
    config.reconnect_max_delay = "100ms";  // the storm is the point, not the backoff
    config.reconnect_multiplier = 1.0;
    for (const auto& id : options.consumer_group_ids) config.add_group("g" + id.substr(3), id, 1);
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready(30s));
    // Every group linked again after `hit` connections were cut: the admitted
    // total proves the reconnects (the emulator's link gauge lags a close).
    const auto all_linked = [&](std::int64_t total_before, std::int64_t hit) {
        return wait_until(
            "every group linked",
            [&] {
                return sum_of(scenario, options.consumer_group_ids, "connections_total") >= total_before + hit &&
                       total_links(scenario, options.consumer_group_ids) == kGroups;
            },
            20s, 50ms);
    };
    ASSERT_TRUE(all_linked(0, kGroups));
    const auto pid = scenario.daemon()->pid();
    // Warm-up: a message per group (each group opens its journal socket on its
    // first write) and a few reconnects, so lazily created state exists before
    // the baseline.
    for (const auto& id : options.consumer_group_ids) scenario.publish(id, 1, "warm-" + id + "-");
    ASSERT_TRUE(emulator_settled(scenario, options.consumer_group_ids, 1, 30s));
    for (int i = 0; i < 3; ++i) {
        const auto total_before = sum_of(scenario, options.consumer_group_ids, "connections_total");
        const auto hit = scenario.emulator("drop")["dropped"].as_int();
        ASSERT_EQ(hit, static_cast<std::int64_t>(kGroups));
        ASSERT_TRUE(all_linked(total_before, hit));
    }
    const auto baseline = settled_fd_count(pid);
    ASSERT_TRUE(baseline.has_value());
    const auto baseline_targets = proc::open_fd_targets(pid);

    for (const auto& id : options.consumer_group_ids) scenario.publish(id, kPerGroup, id + "-", "kind=mixed rate=8");
    std::int64_t reconnects = 0;
    for (int round = 0; round < kRounds; ++round) {
        const auto command = round % 2 == 0 ? std::string("drop")
                                            : std::string("close condition=amqp:connection:forced description=storm");
        const auto total_before = sum_of(scenario, options.consumer_group_ids, "connections_total");
        const auto hit = scenario.emulator(command)[round % 2 == 0 ? "dropped" : "closed"].as_int();
        reconnects += hit;
        ASSERT_TRUE(all_linked(total_before, hit)) << "after round " << round;
    }
    EXPECT_EQ(reconnects, static_cast<std::int64_t>(kGroups) * kRounds);

    const auto after = settled_fd_count(pid);
    ASSERT_TRUE(after.has_value());
    EXPECT_LE(*after, *baseline) << "descriptors leaked across " << reconnects << " reconnects: " << *baseline
                                 << " before, " << *after << " after\nbefore:\n"
                                 << proc::describe_fd_targets(baseline_targets) << "after:\n"
                                 << proc::describe_fd_targets(proc::open_fd_targets(pid));

    EXPECT_TRUE(emulator_settled(scenario, options.consumer_group_ids, 1 + kPerGroup, 60s));
    std::set<std::string> expected;
    for (const auto& id : options.consumer_group_ids) {
        const auto ids = numbered_ids(id + "-", kPerGroup);
        expected.insert(ids.begin(), ids.end());
    }
    const auto all_entries = final_message_entries(scenario, expected.size() + kGroups, 30s);
    std::vector<JournalEntry> entries;  // without the warm-up messages
    for (const auto& entry : all_entries) {
        if (field_or_empty(entry, "IOT_MESSAGE_ID").rfind("warm-", 0) != 0) entries.push_back(entry);
    }
    EXPECT_TRUE(exactly_once(audit_delivery(entries, expected, scenario.message_identifier())));
    EXPECT_TRUE(daemon_healthy(scenario, kGroups));
    print_table_row("fd leak: " + std::to_string(reconnects) + " reconnects", tally(entries, expected), started,
                    "fds " + std::to_string(*baseline) + " -> " + std::to_string(*after));
    EXPECT_TRUE(scenario.stop_daemon(SIGTERM, 10s).clean());
}

}  // namespace
}  // namespace iot::test
