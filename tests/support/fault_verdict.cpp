#include "fault_verdict.hpp"

#include <cstdio>
#include <map>

#include "wait_until.hpp"

namespace iot::test {

using namespace std::chrono_literals;

CaseTally tally(const std::vector<JournalEntry>& entries, const std::set<std::string>& expected_ids) {
    CaseTally result;
    result.published = expected_ids.size();
    std::map<std::string, std::size_t> seen;
    for (const auto& entry : entries) {
        const auto id = field_or_empty(entry, "IOT_MESSAGE_ID");
        if (expected_ids.count(id) != 0) ++seen[id];
    }
    for (const auto& [id, times] : seen) {
        ++result.found;
        if (times > 1) {
            ++result.duplicated;
            result.extra_entries += times - 1;
        }
    }
    return result;
}

::testing::AssertionResult emulator_settled(Scenario& scenario, const std::vector<std::string>& consumer_group_ids,
                                            std::int64_t published_per_group, std::chrono::milliseconds timeout) {
    std::string state;
    bool overshoot = false;
    auto result = wait_until(
        "every group to have published " + std::to_string(published_per_group) +
            " messages, all accepted, none in flight or queued",
        [&] {
            state.clear();
            bool settled = true;
            for (const auto& id : consumer_group_ids) {
                const auto c = scenario.counters(id);
                state += "\n  " + id + ": " + c.summary();
                // More accepted than published would mean the emulator's books are wrong: stop at once.
                overshoot = overshoot || c.accepted > c.published || c.published > published_per_group;
                settled = settled && c.published == published_per_group && c.accepted == c.published &&
                          c.in_flight == 0 && c.queued == 0;
            }
            return settled || overshoot;
        },
        timeout, 200ms);
    if (result && !overshoot) return result;
    if (overshoot) result = ::testing::AssertionFailure() << "more accepted or published than expected";
    return result << "; emulator counters:" << state;
}

::testing::AssertionResult daemon_healthy(Scenario& scenario, std::size_t groups, std::chrono::milliseconds timeout) {
    const auto since = std::chrono::steady_clock::now();
    const std::string connected = std::to_string(groups) + "/" + std::to_string(groups) + " groups connected";
    std::string status;
    auto result = wait_until(
        "STATUS= saying " + connected + " and two WATCHDOG=1 pings",
        [&] {
            status = scenario.notify().last_value("STATUS").value_or("(no STATUS= yet)");
            // A status after a reload starts "reloaded (...); N/N groups connected".
            const bool all_connected =
                status.rfind(connected, 0) == 0 || status.find("; " + connected) != std::string::npos;
            return all_connected && scenario.notify().count_since("WATCHDOG=1", since) >= 2;
        },
        timeout, 100ms);
    if (!result) {
        result << "\n  last STATUS=" << status
               << "\n  WATCHDOG=1 since the check began: " << scenario.notify().count_since("WATCHDOG=1", since);
        if (auto* daemon = scenario.daemon(); daemon != nullptr && !daemon->running()) {
            result << "\n  the daemon exited: " << daemon->exit_status()->to_string();
        }
    }
    return result;
}

std::vector<JournalEntry> final_message_entries(Scenario& scenario, std::size_t count,
                                                std::chrono::milliseconds timeout) {
    // A shortfall is reported by the caller's audit, with the missing ids.
    (void)scenario.messages().wait_for_count(count, timeout);
    return JournalReader::read_all(by_identifier(scenario.message_identifier()));
}

void print_table_row(const std::string& case_name, const CaseTally& tally,
                     std::chrono::steady_clock::time_point started, const std::string& note) {
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::printf("[ fault-table ] | %s | %zu | %zu | %zu | %.1f s |%s%s\n", case_name.c_str(), tally.published,
                tally.found, tally.duplicated, seconds, note.empty() ? "" : " ", note.c_str());
    std::fflush(stdout);
}

std::string redelivered_note(const GroupCounters& counters) {
    return "redelivered=" + std::to_string(counters.redelivered);
}

void expect_delivered_once(Scenario& scenario, const std::string& case_name, const std::string& group,
                           const std::string& consumer_group_id, const std::set<std::string>& expected,
                           std::chrono::steady_clock::time_point started, std::chrono::milliseconds settle_timeout,
                           const std::function<std::string(const GroupCounters&)>& note) {
    EXPECT_TRUE(
        emulator_settled(scenario, {consumer_group_id}, static_cast<std::int64_t>(expected.size()), settle_timeout));
    const auto entries = final_message_entries(scenario, expected.size(), settle_timeout);
    EXPECT_TRUE(
        exactly_once(audit_delivery(entries, expected, scenario.message_identifier(), {{group, consumer_group_id}})));
    print_table_row(case_name, tally(entries, expected), started, note(scenario.counters(consumer_group_id)));
}

}  // namespace iot::test
