#include "iot-amqpd/message_format.hpp"

#include <cctype>

#include "iot-amqpd/encoding.hpp"

namespace iot {
namespace {

void add_optional(std::vector<JournalField>& fields, std::string_view name, const std::optional<std::string_view>& v) {
    if (v) fields.push_back({name, *v});
}

void add_nonempty(std::vector<JournalField>& fields, std::string_view name, std::string_view v) {
    if (!v.empty()) fields.push_back({name, v});
}

// The caller has checked that the text is UTF-8.
void append_json_string(std::string& out, std::string_view utf8) {
    out += '"';
    append_json_escaped(out, utf8);
    out += '"';
}

// Properties and the device come from the network: anything that is not UTF-8
// would make the JSON line invalid, so such values are base64-encoded too.
void append_json_text(std::string& out, std::string_view value) {
    if (is_valid_utf8(value)) {
        append_json_string(out, value);
        return;
    }
    out += "\"base64:";
    append_base64(out, value);
    out += '"';
}

// Writes ,"key":value — every member but the first, which build_json_line
// writes together with the opening brace, so no separator needs taking back.
void append_json_member(std::string& out, std::string_view key, std::string_view value) {
    out += ",\"";
    out += key;
    out += "\":";
    append_json_text(out, value);
}

// A profile's journal field in a JSON line: camelCase without "IOT_"
// (IOT_DEVICE_NAME -> deviceName, IOT_PROP_ROOM_2 -> propRoom2).
std::string json_name(std::string_view field) {
    constexpr std::string_view kPrefix = "IOT_";
    if (field.substr(0, kPrefix.size()) == kPrefix) field.remove_prefix(kPrefix.size());
    std::string name;
    bool upper = false;
    for (const char c : field) {
        if (c == '_') {
            upper = !name.empty();
            continue;
        }
        const auto byte = static_cast<unsigned char>(c);
        name += static_cast<char>(upper ? std::toupper(byte) : std::tolower(byte));
        upper = false;
    }
    return name;
}

}  // namespace

void build_journal_fields(const MessageRecord& record, std::string_view syslog_identifier,
                          JournalEntryBuffers& buffers) {
    auto& fields = buffers.fields;
    fields.clear();
    const bool text = is_valid_utf8(record.body);
    if (text) {
        fields.push_back({"MESSAGE", record.body});
    } else {
        buffers.encoded_body.assign("base64:");
        append_base64(buffers.encoded_body, record.body);
        fields.push_back({"MESSAGE", buffers.encoded_body});
    }
    fields.push_back({"PRIORITY", "6"});
    fields.push_back({"SYSLOG_IDENTIFIER", syslog_identifier});
    fields.push_back({"IOT_CONSUMER_GROUP", record.group});
    add_nonempty(fields, "IOT_CONSUMER_GROUP_ID", record.group_id);
    add_optional(fields, "IOT_TOPIC", record.topic);
    add_optional(fields, "IOT_MESSAGE_ID", record.message_id);
    add_optional(fields, "IOT_GENERATE_TIME", record.generate_time);
    if (record.fields != nullptr)
        for (const RecordField& field : *record.fields) add_nonempty(fields, field.name, field.value);
    fields.push_back({"IOT_CLIENT_ID", record.client_id});
    fields.push_back({"IOT_PAYLOAD_ENCODING", text ? "utf-8" : "base64"});
}

void build_json_line(const MessageRecord& record, std::string& out) {
    out.clear();
    // The group's name and ID come from the config, which may hold any bytes:
    // they get the same UTF-8 guard as the network's values.
    out += "{\"group\":";
    append_json_text(out, record.group);
    if (!record.group_id.empty()) append_json_member(out, "groupId", record.group_id);
    if (record.topic) append_json_member(out, "topic", *record.topic);
    if (record.message_id) append_json_member(out, "messageId", *record.message_id);
    if (record.generate_time) append_json_member(out, "generateTime", *record.generate_time);
    if (record.fields != nullptr)
        for (const RecordField& field : *record.fields)
            if (!field.value.empty()) append_json_member(out, json_name(field.name), field.value);
    append_json_member(out, "clientId", record.client_id);
    if (is_valid_utf8(record.body)) {
        out += ",\"payloadEncoding\":\"utf-8\",\"payload\":";
        append_json_string(out, record.body);
    } else {
        out += ",\"payloadEncoding\":\"base64\",\"payload\":\"";
        append_base64(out, record.body);
        out += '"';
    }
    out += "}\n";
}

}  // namespace iot
