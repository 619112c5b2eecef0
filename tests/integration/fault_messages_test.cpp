// Fault matrix, the messages: 10 MiB bodies, empty bodies, bodies that are
// not UTF-8, bodies as an AMQP string and as an amqp-value, missing
// application properties and a messageId that arrives as a long, every topic
// kind the emulator knows (garbage topics included), and duplicate messageIds
// (accepted, written once). Each is published into a stream of ordinary
// messages; all of it must be in the journal exactly once and accepted.

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "delivery_audit.hpp"
#include "fault_verdict.hpp"
#include "journal_unabridged.hpp"
#include "message_expectations.hpp"
#include "message_factory.hpp"
#include "scenario.hpp"
#include "temp_dir.hpp"
#include "wait_until.hpp"

namespace iot::test {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kTenMiB = 10 * 1024 * 1024;

emu::PublishSpec spec_of(const std::string& group, std::size_t count, const std::string& prefix) {
    emu::PublishSpec spec;
    spec.group = group;
    spec.count = count;
    spec.id_prefix = prefix;
    return spec;
}

// The id prefix an entry's messageId starts with, among `prefixes` ("" when none).
std::string prefix_of(const std::string& id, const std::vector<std::string>& prefixes) {
    for (const auto& prefix : prefixes) {
        if (message_number(id, prefix) != 0) return prefix;
    }
    return {};
}

TEST(FaultMessages, HugeEmptyBinaryStringAndValueBodiesAreWrittenExactlyOnce) {
    constexpr std::size_t kHuge = 3;
    constexpr std::size_t kEach = 200;
    const auto started = std::chrono::steady_clock::now();
    Scenario scenario;
    scenario.config().add_group("bodies", "CG-A", 2);
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready());
    ASSERT_TRUE(scenario.wait_for_links("CG-A", 2));

    std::map<std::string, emu::PublishSpec> specs;  // by id prefix
    const auto publish = [&](const std::string& prefix, std::size_t count, const std::string& extra,
                             const emu::PublishSpec& spec) {
        scenario.publish("CG-A", count, prefix, extra);
        specs[prefix] = spec;
    };
    auto plain = spec_of("CG-A", kEach, "plain-");
    plain.kind.reset();
    publish("plain-", kEach, "kind=mixed", plain);
    auto huge = spec_of("CG-A", kHuge, "huge-");
    huge.size = kTenMiB;
    publish("huge-", kHuge, "kind=property_post size=" + std::to_string(kTenMiB), huge);
    auto empty = spec_of("CG-A", kEach, "empty-");
    empty.encoding = emu::BodyEncoding::empty;
    publish("empty-", kEach, "body=empty", empty);
    auto binary = spec_of("CG-A", kEach, "bin-");
    binary.kind = emu::TopicKind::custom_binary;
    publish("bin-", kEach, "kind=custom_binary", binary);
    auto text = spec_of("CG-A", kEach, "str-");
    text.encoding = emu::BodyEncoding::string;
    publish("str-", kEach, "body=string", text);
    auto value = spec_of("CG-A", kEach, "val-");
    value.encoding = emu::BodyEncoding::value;
    publish("val-", kEach, "body=value", value);
    const std::size_t total = 5 * kEach + kHuge;

    EXPECT_TRUE(emulator_settled(scenario, {"CG-A"}, static_cast<std::int64_t>(total), 90s));
    std::set<std::string> expected;
    std::vector<std::string> prefixes;
    for (const auto& [prefix, spec] : specs) {
        const auto ids = numbered_ids(prefix, spec.count);
        expected.insert(ids.begin(), ids.end());
        prefixes.push_back(prefix);
    }
    const auto entries = final_message_entries(scenario, total, 60s);
    EXPECT_TRUE(exactly_once(audit_delivery(entries, expected, scenario.message_identifier(), {{"bodies", "CG-A"}})));

    // Every body as the design says: text when UTF-8, else base64; the huge
    // ones whole (read without sd-journal's 64 KiB truncation).
    const auto whole = read_all_unabridged(by_identifier(scenario.message_identifier()));
    std::map<std::string, std::size_t> checked;
    std::vector<std::string> wrong;
    for (const auto& entry : whole) {
        const auto id = field_or_empty(entry, "IOT_MESSAGE_ID");
        const auto prefix = prefix_of(id, prefixes);
        if (prefix.empty()) continue;  // the audit reported it
        ++checked[prefix];
        const auto& spec = specs.at(prefix);
        if (prefix == "val-") {
            // An amqp-value map has no bytes of its own: proton's text form of it, as UTF-8.
            if (field_or_empty(entry, "MESSAGE").find("messageId") == std::string::npos ||
                field_or_empty(entry, "IOT_PAYLOAD_ENCODING") != "utf-8") {
                wrong.push_back(id + ": amqp-value body not written as text");
            }
            continue;
        }
        if (auto problem = compare_with_published(entry, spec); !problem.empty()) wrong.push_back(problem);
        if (prefix == "huge-" && field_or_empty(entry, "MESSAGE").size() < kTenMiB) {
            wrong.push_back(id + ": a 10 MiB body arrived with " +
                            std::to_string(field_or_empty(entry, "MESSAGE").size()) + " bytes");
        }
        if (prefix == "bin-" && field_or_empty(entry, "IOT_PAYLOAD_ENCODING") != "base64") {
            wrong.push_back(id + ": a non-UTF-8 body must be written as base64");
        }
        if (prefix == "empty-" && !field_or_empty(entry, "MESSAGE").empty()) {
            wrong.push_back(id + ": an empty body must give an empty MESSAGE");
        }
    }
    EXPECT_TRUE(wrong.empty()) << wrong.size() << " entries differ from what was published, e.g. "
                               << (wrong.empty() ? "" : wrong.front());
    for (const auto& [prefix, spec] : specs) EXPECT_EQ(checked[prefix], spec.count) << prefix;
    EXPECT_TRUE(daemon_healthy(scenario, 1));
    print_table_row("bodies: 3x10 MiB, empty, binary, string, value", tally(entries, expected), started);
    EXPECT_TRUE(scenario.stop_daemon(SIGTERM, 10s).clean());
}

TEST(FaultMessages, MissingPropertiesAndALongMessageIdAreWritten) {
    constexpr std::size_t kEach = 300;
    const auto started = std::chrono::steady_clock::now();
    Scenario scenario;
    // One group per shape, so entries without a messageId can be counted by group.
    scenario.config().add_group("no-props", "CG-A", 1);
    scenario.config().add_group("long-id", "CG-B", 1);
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready());
    ASSERT_TRUE(scenario.wait_for_links("CG-A", 1));
    ASSERT_TRUE(scenario.wait_for_links("CG-B", 1));

    scenario.publish("CG-A", kEach, "none-", "props=none");
    scenario.publish("CG-B", kEach, "77", "props=long_id");  // messageIds 771..77300, as AMQP longs

    EXPECT_TRUE(emulator_settled(scenario, {"CG-A"}, kEach, 60s));
    EXPECT_TRUE(emulator_settled(scenario, {"CG-B"}, kEach, 60s));
    const auto entries = final_message_entries(scenario, 2 * kEach, 30s);
    std::vector<JournalEntry> without_props;
    std::vector<JournalEntry> with_long_id;
    for (const auto& entry : entries) {
        (field_or_empty(entry, "IOT_CONSUMER_GROUP") == "no-props" ? without_props : with_long_id).push_back(entry);
    }
    // No properties: written all the same, the absent fields omitted, not empty.
    EXPECT_EQ(without_props.size(), kEach) << "every message without properties must be one entry";
    for (const auto& entry : without_props) {
        for (const char* field :
             {"IOT_MESSAGE_ID", "IOT_TOPIC", "IOT_GENERATE_TIME", "IOT_PRODUCT_KEY", "IOT_DEVICE_NAME"}) {
            EXPECT_EQ(entry.count(field), 0u) << field << " must be omitted when the property is absent";
        }
        EXPECT_FALSE(field_or_empty(entry, "MESSAGE").empty());
    }
    // A long messageId is written as its decimal text, and deduplicated like any other.
    const auto expected = numbered_ids("77", kEach);
    EXPECT_TRUE(
        exactly_once(audit_delivery(with_long_id, expected, scenario.message_identifier(), {{"long-id", "CG-B"}})));
    EXPECT_TRUE(daemon_healthy(scenario, 2));
    auto row = tally(with_long_id, expected);
    row.published += kEach;  // the messages without an id count as found when there is one entry each
    row.found += without_props.size() == kEach ? kEach : 0;
    print_table_row("props: none / messageId as long", row, started);
    EXPECT_TRUE(scenario.stop_daemon(SIGTERM, 10s).clean());
}

TEST(FaultMessages, EveryTopicKindAndGarbageTopicsKeepTheirFields) {
    const std::size_t kinds = emu::all_topic_kinds().size();
    const std::size_t count = kinds * 40;
    const auto started = std::chrono::steady_clock::now();
    Scenario scenario;
    scenario.config().add_group("topics", "CG-C", 1);
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready());
    ASSERT_TRUE(scenario.wait_for_links("CG-C", 1));

    scenario.publish("CG-C", count, "topic-", "kind=mixed devices=7");
    EXPECT_TRUE(emulator_settled(scenario, {"CG-C"}, static_cast<std::int64_t>(count), 60s));
    const auto expected = numbered_ids("topic-", count);
    const auto entries = final_message_entries(scenario, count, 30s);
    EXPECT_TRUE(exactly_once(audit_delivery(entries, expected, scenario.message_identifier(), {{"topics", "CG-C"}})));

    auto spec = spec_of("CG-C", count, "topic-");
    spec.kind.reset();
    spec.devices = 7;
    std::vector<std::string> wrong;
    std::set<std::string> garbage_topics;
    for (const auto& entry : entries) {
        if (auto problem = compare_with_published(entry, spec); !problem.empty()) wrong.push_back(problem);
        const auto n = message_number(field_or_empty(entry, "IOT_MESSAGE_ID"), "topic-");
        if (n != 0 && emu::all_topic_kinds()[(n - 1) % kinds] == emu::TopicKind::garbage_topic) {
            garbage_topics.insert(field_or_empty(entry, "IOT_TOPIC"));
        }
    }
    EXPECT_TRUE(wrong.empty()) << wrong.size() << " entries differ from what was published, e.g. "
                               << (wrong.empty() ? "" : wrong.front());
    EXPECT_EQ(garbage_topics.size(), count / kinds) << "every garbage topic must be written as it came";
    EXPECT_TRUE(daemon_healthy(scenario, 1));
    print_table_row("every topic kind x40 (garbage included)", tally(entries, expected), started);
    EXPECT_TRUE(scenario.stop_daemon(SIGTERM, 10s).clean());
}

TEST(FaultMessages, DuplicateMessageIdsAreAcceptedButWrittenOnce) {
    constexpr std::size_t kCount = 1500;
    constexpr std::size_t kDuplicates = 600;
    const auto started = std::chrono::steady_clock::now();
    Scenario scenario;
    scenario.config().add_group("dups", "CG-D", 2);
    const auto metrics_file = scenario.dir() / "metrics.prom";
    scenario.write_config_text(scenario.config().to_yaml() +
                               "metrics:\n  textfile: " + yaml_quote(metrics_file.string()) + "\n  interval: 1s\n");
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready());
    ASSERT_TRUE(scenario.wait_for_links("CG-D", 2));

    const auto reply = scenario.publish("CG-D", kCount, "dup-", "kind=mixed dup=" + std::to_string(kDuplicates));
    ASSERT_EQ(reply["dup"].as_int(), static_cast<std::int64_t>(kDuplicates));
    // Accepted: the originals and their duplicates alike.
    EXPECT_TRUE(emulator_settled(scenario, {"CG-D"}, static_cast<std::int64_t>(kCount + kDuplicates), 60s));
    const auto expected = numbered_ids("dup-", kCount);
    const auto entries = final_message_entries(scenario, kCount, 30s);
    EXPECT_TRUE(exactly_once(audit_delivery(entries, expected, scenario.message_identifier(), {{"dups", "CG-D"}})));
    EXPECT_EQ(entries.size(), kCount) << "a duplicate messageId must not make a second entry";

    // The daemon counted them as duplicates.
    const std::string wanted = "iot_amqpd_messages_duplicate_total{group=\"dups\"} " + std::to_string(kDuplicates);
    EXPECT_TRUE(wait_until(
        "the metrics file to count " + std::to_string(kDuplicates) + " duplicates",
        [&] { return read_file(metrics_file).value_or("").find(wanted) != std::string::npos; }, 10s))
        << read_file(metrics_file).value_or("(no metrics file)");
    EXPECT_TRUE(daemon_healthy(scenario, 1));
    print_table_row("duplicate messageIds (dup=" + std::to_string(kDuplicates) + ")", tally(entries, expected), started,
                    "published incl. dups=" + std::to_string(kCount + kDuplicates));
    EXPECT_TRUE(scenario.stop_daemon(SIGTERM, 10s).clean());
}

}  // namespace
}  // namespace iot::test
