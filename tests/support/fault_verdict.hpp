// The verdict every fault case ends with: what the emulator published is in
// the journal exactly once, the emulator saw every message accepted and none
// left in flight, and the daemon is healthy afterwards (STATUS= says every
// group is connected and WATCHDOG=1 pings keep coming). Plus the case's row
// in the report table (case, published, found, duplicated, run time).
//
// Functions over a Scenario; call them from the test thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "delivery_audit.hpp"
#include "journal_reader.hpp"
#include "scenario.hpp"

namespace iot::test {

struct CaseTally {
    std::size_t published = 0;      // distinct messageIds expected
    std::size_t found = 0;          // of those, how many have at least one entry
    std::size_t duplicated = 0;     // of those, how many have more than one entry
    std::size_t extra_entries = 0;  // entries beyond one per id (the duplicates' surplus)
};

[[nodiscard]] CaseTally tally(const std::vector<JournalEntry>& entries, const std::set<std::string>& expected_ids);

// Waits (bounded) until every listed group has published exactly
// `published_per_group` messages (duplicates included; a rated publication
// releases them over time) and accepted == published, in_flight == 0,
// queued == 0. Fails at once if a group accepted more than it published.
[[nodiscard]] ::testing::AssertionResult emulator_settled(Scenario& scenario,
                                                          const std::vector<std::string>& consumer_group_ids,
                                                          std::int64_t published_per_group,
                                                          std::chrono::milliseconds timeout);

// The latest STATUS= starts with "<groups>/<groups> groups connected" (waited
// for, bounded), and at least two WATCHDOG=1 arrive after this call.
[[nodiscard]] ::testing::AssertionResult daemon_healthy(Scenario& scenario, std::size_t groups,
                                                        std::chrono::milliseconds timeout = std::chrono::seconds(15));

// Waits until the journal holds `count` entries of the scenario's message
// identifier, then reads them all afresh (the honest final view).
[[nodiscard]] std::vector<JournalEntry> final_message_entries(Scenario& scenario, std::size_t count,
                                                              std::chrono::milliseconds timeout);

// The common ending of a one-group fault case: the emulator settled (every
// one of `expected` accepted, within `settle_timeout`), the journal holds each
// exactly once with the group's fields, and the case's table row printed with
// `note` (given the emulator's counters of the group afterwards).
void expect_delivered_once(Scenario& scenario, const std::string& case_name, const std::string& group,
                           const std::string& consumer_group_id, const std::set<std::string>& expected,
                           std::chrono::steady_clock::time_point started, std::chrono::milliseconds settle_timeout,
                           const std::function<std::string(const GroupCounters&)>& note);

// "redelivered=N": the note most fault cases print.
[[nodiscard]] std::string redelivered_note(const GroupCounters& counters);

// Prints "[ fault-table ] | case | published | found | duplicated | seconds |"
// to stdout so a run's log yields the report table (grep fault-table).
void print_table_row(const std::string& case_name, const CaseTally& tally,
                     std::chrono::steady_clock::time_point started, const std::string& note = "");

}  // namespace iot::test
