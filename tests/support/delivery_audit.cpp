#include "delivery_audit.hpp"

#include <sstream>

namespace iot::test {

namespace {

constexpr std::size_t kShown = 10;

template <typename Container, typename Format>
void list_first(std::ostringstream& out, const char* title, const Container& items, Format format) {
    if (items.empty()) return;
    out << "\n  " << title << " (" << items.size() << "):";
    std::size_t shown = 0;
    for (const auto& item : items) {
        if (shown++ == kShown) {
            out << " ...";
            break;
        }
        out << " " << format(item);
    }
}

}  // namespace

const std::vector<std::string>& required_message_fields() {
    static const std::vector<std::string> fields = {
        "MESSAGE",   "PRIORITY",       "SYSLOG_IDENTIFIER", "IOT_CONSUMER_GROUP", "IOT_CONSUMER_GROUP_ID",
        "IOT_TOPIC", "IOT_MESSAGE_ID", "IOT_GENERATE_TIME", "IOT_CLIENT_ID",      "IOT_PAYLOAD_ENCODING",
    };
    return fields;
}

DeliveryAudit audit_delivery(const std::vector<JournalEntry>& entries, const std::set<std::string>& expected_ids,
                             const std::string& syslog_identifier,
                             const std::map<std::string, std::string>& group_ids) {
    DeliveryAudit audit;
    audit.entries = entries.size();
    audit.expected = expected_ids.size();
    std::map<std::string, std::size_t> seen;
    for (const auto& entry : entries) {
        const auto id = field_or_empty(entry, "IOT_MESSAGE_ID");
        if (id.empty() || expected_ids.count(id) == 0) {
            audit.unexpected.push_back(
                id.empty() ? "(entry without IOT_MESSAGE_ID: " + field_or_empty(entry, "MESSAGE").substr(0, 60) + ")"
                           : id);
            continue;
        }
        ++seen[id];
        std::string problems;
        for (const auto& field : required_message_fields()) {
            if (entry.count(field) == 0) problems += " no " + field + ";";
        }
        if (field_or_empty(entry, "PRIORITY") != "6")
            problems += " PRIORITY=" + field_or_empty(entry, "PRIORITY") + ";";
        if (field_or_empty(entry, "SYSLOG_IDENTIFIER") != syslog_identifier) problems += " wrong SYSLOG_IDENTIFIER;";
        const auto encoding = field_or_empty(entry, "IOT_PAYLOAD_ENCODING");
        if (encoding != "utf-8" && encoding != "base64") problems += " IOT_PAYLOAD_ENCODING=" + encoding + ";";
        if (encoding == "base64" && field_or_empty(entry, "MESSAGE").rfind("base64:", 0) != 0) {
            problems += " base64 payload without the base64: prefix;";
        }
        if (!group_ids.empty()) {
            const auto group = group_ids.find(field_or_empty(entry, "IOT_CONSUMER_GROUP"));
            if (group == group_ids.end()) {
                problems += " unknown IOT_CONSUMER_GROUP=" + field_or_empty(entry, "IOT_CONSUMER_GROUP") + ";";
            } else if (group->second != field_or_empty(entry, "IOT_CONSUMER_GROUP_ID")) {
                problems += " IOT_CONSUMER_GROUP_ID does not match the group;";
            }
        }
        if (!problems.empty()) audit.malformed.push_back(id + ":" + problems);
    }
    for (const auto& id : expected_ids) {
        const auto found = seen.find(id);
        if (found == seen.end()) {
            audit.missing.push_back(id);
        } else if (found->second > 1) {
            audit.duplicated[id] = found->second;
        }
    }
    return audit;
}

std::string DeliveryAudit::report() const {
    std::ostringstream out;
    out << entries << " journal entries for " << expected << " published messages: " << missing.size() << " missing, "
        << duplicated.size() << " duplicated, " << unexpected.size() << " unexpected, " << malformed.size()
        << " malformed";
    const auto plain = [](const std::string& text) { return text; };
    list_first(out, "missing", missing, plain);
    list_first(out, "duplicated", duplicated,
               [](const auto& item) { return item.first + "x" + std::to_string(item.second); });
    list_first(out, "unexpected", unexpected, plain);
    list_first(out, "malformed", malformed, [](const std::string& text) { return "[" + text + "]"; });
    return out.str();
}

::testing::AssertionResult exactly_once(const DeliveryAudit& audit) {
    if (audit.ok()) return ::testing::AssertionSuccess() << audit.report();
    return ::testing::AssertionFailure() << audit.report();
}

std::set<std::string> numbered_ids(const std::string& prefix, std::size_t count) {
    std::set<std::string> ids;
    for (std::size_t n = 1; n <= count; ++n) ids.insert(prefix + std::to_string(n));
    return ids;
}

std::map<std::string, std::size_t> count_by_message_id(const std::vector<JournalEntry>& entries) {
    std::map<std::string, std::size_t> counts;
    for (const auto& entry : entries) ++counts[field_or_empty(entry, "IOT_MESSAGE_ID")];
    return counts;
}

}  // namespace iot::test
