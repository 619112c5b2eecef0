// Checks the journal against what the emulator published: every expected
// messageId exactly once, nothing unexpected, and every entry carrying the
// fields DESIGN.md §6 promises. The verdict a delivery scenario rests on.
//
// Plain functions over values; no thread affinity.
#pragma once

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "journal_reader.hpp"

namespace iot::test {

struct DeliveryAudit {
    std::size_t entries = 0;
    std::size_t expected = 0;
    std::vector<std::string> missing;               // expected, never written
    std::map<std::string, std::size_t> duplicated;  // written more than once: id -> times
    std::vector<std::string> unexpected;            // written, never published (or no IOT_MESSAGE_ID)
    std::vector<std::string> malformed;             // "id: what is wrong"

    [[nodiscard]] bool ok() const {
        return missing.empty() && duplicated.empty() && unexpected.empty() && malformed.empty();
    }
    // A summary plus the first few ids of each problem.
    [[nodiscard]] std::string report() const;
};

// The message fields every entry must have (IOT_PRODUCT_KEY / IOT_DEVICE_NAME
// are checked separately: they are omitted when the topic does not give them).
[[nodiscard]] const std::vector<std::string>& required_message_fields();

// `group_ids` maps IOT_CONSUMER_GROUP (name) to the IOT_CONSUMER_GROUP_ID it
// must carry; entries of other groups are "unexpected". Empty: not checked.
[[nodiscard]] DeliveryAudit audit_delivery(const std::vector<JournalEntry>& entries,
                                           const std::set<std::string>& expected_ids,
                                           const std::string& syslog_identifier,
                                           const std::map<std::string, std::string>& group_ids = {});

// ASSERT_TRUE(exactly_once(...)) with the report as the failure message.
[[nodiscard]] ::testing::AssertionResult exactly_once(const DeliveryAudit& audit);

// The ids prefix + 1..count, as the emulator numbers them.
[[nodiscard]] std::set<std::string> numbered_ids(const std::string& prefix, std::size_t count);

// How many entries carry each IOT_MESSAGE_ID.
[[nodiscard]] std::map<std::string, std::size_t> count_by_message_id(const std::vector<JournalEntry>& entries);

}  // namespace iot::test
