// Fuzz target: arbitrary message properties and bodies -> journal fields and
// the stdout JSON line (DESIGN.md §6), checked against independent oracles.
//
// Input layout (keeps seeds readable):
//   byte 0        flags: bit 0 topic present, bit 1 messageId present, bit 2 generateTime present
//   then          topic 0xFF messageId 0xFF generateTime 0xFF body
// A missing 0xFF leaves that field and the ones after it empty, and the rest of
// the input is the body; the body itself may hold 0xFF.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "iot-amqpd/encoding.hpp"
#include "iot-amqpd/message_format.hpp"
#include "iot-amqpd/topic.hpp"
#include "text_oracles.hpp"

namespace {

using iot::fuzz::decode_base64;
using iot::fuzz::FlatJsonParser;
using iot::fuzz::reference_utf8;

constexpr std::string_view kGroup = "factory-a";
constexpr std::string_view kGroupId = "VWhGZ2QnP7kxWpeSSjt1234";
constexpr std::string_view kClientId = "host-1-factory-a";
constexpr std::string_view kIdentifier = "iot-amqpd-msg";

struct SplitInput {
    std::optional<std::string_view> topic;
    std::optional<std::string_view> message_id;
    std::optional<std::string_view> generate_time;
    std::string_view body;
};

SplitInput split(std::string_view input) {
    SplitInput out;
    if (input.empty()) return out;
    const auto flags = static_cast<unsigned char>(input.front());
    std::string_view rest = input.substr(1);
    std::string_view fields[3];
    for (auto& field : fields) {
        const auto separator = rest.find('\xFF');
        if (separator == std::string_view::npos) break;
        field = rest.substr(0, separator);
        rest.remove_prefix(separator + 1);
    }
    if (flags & 1u) out.topic = fields[0];
    if (flags & 2u) out.message_id = fields[1];
    if (flags & 4u) out.generate_time = fields[2];
    out.body = rest;
    return out;
}

// The Alibaba profile's fields for a device, empty parts left out.
void device_fields(const iot::DeviceRef& device, std::vector<iot::RecordField>& out) {
    if (!device.product_key.empty()) out.push_back({"IOT_PRODUCT_KEY", device.product_key});
    if (!device.device_name.empty()) out.push_back({"IOT_DEVICE_NAME", device.device_name});
}

// The record's profile field `name`, "" when absent.
std::string_view field_of(const iot::MessageRecord& record, std::string_view name) {
    if (record.fields == nullptr) return {};
    for (const iot::RecordField& field : *record.fields)
        if (field.name == name) return field.value;
    return {};
}

// What the sinks must show for a network-supplied text value: itself when it is
// UTF-8, else "base64:" and its base64 (JSON only; the journal is binary-safe).
void check_json_text(std::string_view shown, std::string_view original, const char* what) {
    if (reference_utf8(original)) {
        FUZZ_CHECK(shown == original, what);
        return;
    }
    FUZZ_CHECK(shown.substr(0, 7) == "base64:", what);
    const auto decoded = decode_base64(shown.substr(7));
    FUZZ_CHECK(decoded && *decoded == original, what);
}

void check_journal_fields(const iot::MessageRecord& record, const iot::JournalEntryBuffers& buffers) {
    std::map<std::string_view, std::string_view> by_name;
    for (const auto& field : buffers.fields) {
        FUZZ_CHECK(by_name.emplace(field.name, field.value).second, "a journal field appears twice");
        FUZZ_CHECK(!field.name.empty() &&
                       field.name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == std::string_view::npos,
                   "journal field names are upper case, digits and '_'");
    }
    const bool text = reference_utf8(record.body);
    FUZZ_CHECK(iot::is_valid_utf8(record.body) == text, "is_valid_utf8 disagrees with the reference validator");
    FUZZ_CHECK(buffers.fields.front().name == "MESSAGE", "MESSAGE comes first");
    const std::string_view message = by_name.at("MESSAGE");
    if (text) {
        FUZZ_CHECK(message == record.body, "a UTF-8 body is MESSAGE as is");
        FUZZ_CHECK(by_name.at("IOT_PAYLOAD_ENCODING") == "utf-8", "encoding utf-8");
    } else {
        FUZZ_CHECK(message.substr(0, 7) == "base64:", "a binary body is base64:...");
        const auto decoded = decode_base64(message.substr(7));
        FUZZ_CHECK(decoded && *decoded == record.body, "MESSAGE base64 decodes to the body");
        FUZZ_CHECK(by_name.at("IOT_PAYLOAD_ENCODING") == "base64", "encoding base64");
    }
    FUZZ_CHECK(by_name.at("PRIORITY") == "6", "PRIORITY 6");
    FUZZ_CHECK(by_name.at("SYSLOG_IDENTIFIER") == kIdentifier, "SYSLOG_IDENTIFIER");
    FUZZ_CHECK(by_name.at("IOT_CONSUMER_GROUP") == kGroup, "IOT_CONSUMER_GROUP");
    FUZZ_CHECK(by_name.at("IOT_CONSUMER_GROUP_ID") == kGroupId, "IOT_CONSUMER_GROUP_ID");
    FUZZ_CHECK(by_name.at("IOT_CLIENT_ID") == kClientId, "IOT_CLIENT_ID");

    const auto optional_field = [&](std::string_view name, const std::optional<std::string_view>& expected) {
        const auto it = by_name.find(name);
        FUZZ_CHECK((it != by_name.end()) == expected.has_value(), "optional field present iff the property is");
        if (expected) FUZZ_CHECK(it->second == *expected, "optional field holds the property as received");
    };
    optional_field("IOT_TOPIC", record.topic);
    optional_field("IOT_MESSAGE_ID", record.message_id);
    optional_field("IOT_GENERATE_TIME", record.generate_time);
    const auto device_field = [&](std::string_view name, std::string_view expected) {
        optional_field(name, expected.empty() ? std::nullopt : std::optional<std::string_view>(expected));
    };
    device_field("IOT_PRODUCT_KEY", field_of(record, "IOT_PRODUCT_KEY"));
    device_field("IOT_DEVICE_NAME", field_of(record, "IOT_DEVICE_NAME"));
}

void check_json_line(const iot::MessageRecord& record, const std::string& line) {
    FUZZ_CHECK(reference_utf8(line), "the JSON line is valid UTF-8");
    FUZZ_CHECK(!line.empty() && line.back() == '\n', "the JSON line ends with a newline");
    FUZZ_CHECK(line.find('\n') == line.size() - 1, "no raw newline inside the JSON line");
    const auto members = FlatJsonParser::parse(std::string_view(line).substr(0, line.size() - 1));
    FUZZ_CHECK(members.has_value(), "the JSON line is one flat JSON object of strings");

    std::map<std::string, std::string> by_key;
    for (const auto& [key, value] : *members) FUZZ_CHECK(by_key.emplace(key, value).second, "a JSON key appears twice");
    FUZZ_CHECK(by_key.at("group") == kGroup, "group");
    FUZZ_CHECK(by_key.at("groupId") == kGroupId, "groupId");
    FUZZ_CHECK(by_key.at("clientId") == kClientId, "clientId");

    const auto optional_member = [&](const char* key, const std::optional<std::string_view>& expected) {
        const auto it = by_key.find(key);
        FUZZ_CHECK((it != by_key.end()) == expected.has_value(), key);
        if (expected) check_json_text(it->second, *expected, key);
    };
    const auto device_member = [&](const char* key, std::string_view expected) {
        optional_member(key, expected.empty() ? std::nullopt : std::optional<std::string_view>(expected));
    };
    optional_member("topic", record.topic);
    optional_member("messageId", record.message_id);
    optional_member("generateTime", record.generate_time);
    device_member("productKey", field_of(record, "IOT_PRODUCT_KEY"));
    device_member("deviceName", field_of(record, "IOT_DEVICE_NAME"));

    const std::string& payload = by_key.at("payload");
    if (reference_utf8(record.body)) {
        FUZZ_CHECK(by_key.at("payloadEncoding") == "utf-8", "payloadEncoding utf-8");
        FUZZ_CHECK(payload == record.body, "a UTF-8 body is the payload as is");
    } else {
        FUZZ_CHECK(by_key.at("payloadEncoding") == "base64", "payloadEncoding base64");
        const auto decoded = decode_base64(payload);
        FUZZ_CHECK(decoded && *decoded == record.body, "the base64 payload decodes to the body");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const SplitInput input = split(std::string_view(reinterpret_cast<const char*>(data), size));

    iot::MessageRecord record;
    record.group = kGroup;
    record.group_id = kGroupId;
    record.client_id = kClientId;
    record.topic = input.topic;
    record.message_id = input.message_id;
    record.generate_time = input.generate_time;
    // As the Alibaba profile does: the device comes from the topic when there is one.
    std::vector<iot::RecordField> fields;
    if (input.topic) device_fields(iot::device_from_topic(*input.topic), fields);
    record.fields = &fields;
    record.body = input.body;

    // The buffers are reused on the hot path: fill them with a different
    // message first, so stale fields or a stale encoded body would show.
    iot::JournalEntryBuffers buffers;
    iot::MessageRecord previous = record;
    previous.topic = "/a1PK/pump-7/user/previous";
    std::vector<iot::RecordField> previous_fields;
    device_fields(iot::device_from_topic(*previous.topic), previous_fields);
    previous.fields = &previous_fields;
    previous.message_id = "previous-id";
    previous.generate_time = "1";
    previous.body = "\xC0previous binary body";
    iot::build_journal_fields(previous, kIdentifier, buffers);
    iot::build_journal_fields(record, kIdentifier, buffers);
    check_journal_fields(record, buffers);

    std::string line = "stale text that build_json_line must clear";
    iot::build_json_line(record, line);
    check_json_line(record, line);
    return 0;
}
