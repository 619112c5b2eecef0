#include "iot-amqpd/message_format.hpp"

#include <gtest/gtest.h>

#include <map>

namespace iot {
namespace {

std::map<std::string, std::string> as_map(const JournalEntryBuffers& buffers) {
    std::map<std::string, std::string> out;
    for (const auto& f : buffers.fields) {
        EXPECT_EQ(out.count(std::string(f.name)), 0U) << "field twice: " << f.name;
        out[std::string(f.name)] = std::string(f.value);
    }
    return out;
}

const std::vector<RecordField> kDeviceFields{{"IOT_PRODUCT_KEY", "a1PK"}, {"IOT_DEVICE_NAME", "pump-7"}};

MessageRecord full_record() {
    MessageRecord r;
    r.group = "factory-a";
    r.group_id = "CG123";
    r.client_id = "host-factory-a-1";
    r.topic = "/a1PK/pump-7/thing/event/property/post";
    r.message_id = "1324198300680719360";
    r.generate_time = "1613635594038";
    r.fields = &kDeviceFields;
    r.body = "{\"items\":{\"Temperature\":{\"value\":24}}}";
    return r;
}

TEST(JournalFields, CarryEveryDesignField) {
    JournalEntryBuffers buffers;
    build_journal_fields(full_record(), "iot-amqpd-msg", buffers);
    const auto f = as_map(buffers);
    EXPECT_EQ(f.at("MESSAGE"), "{\"items\":{\"Temperature\":{\"value\":24}}}");
    EXPECT_EQ(f.at("PRIORITY"), "6");
    EXPECT_EQ(f.at("SYSLOG_IDENTIFIER"), "iot-amqpd-msg");
    EXPECT_EQ(f.at("IOT_CONSUMER_GROUP"), "factory-a");
    EXPECT_EQ(f.at("IOT_CONSUMER_GROUP_ID"), "CG123");
    EXPECT_EQ(f.at("IOT_TOPIC"), "/a1PK/pump-7/thing/event/property/post");
    EXPECT_EQ(f.at("IOT_MESSAGE_ID"), "1324198300680719360");
    EXPECT_EQ(f.at("IOT_GENERATE_TIME"), "1613635594038");
    EXPECT_EQ(f.at("IOT_PRODUCT_KEY"), "a1PK");
    EXPECT_EQ(f.at("IOT_DEVICE_NAME"), "pump-7");
    EXPECT_EQ(f.at("IOT_CLIENT_ID"), "host-factory-a-1");
    EXPECT_EQ(f.at("IOT_PAYLOAD_ENCODING"), "utf-8");
    EXPECT_EQ(f.size(), 12U);
}

TEST(JournalFields, NonUtf8BodyIsBase64AndMissingPropertiesAreOmitted) {
    MessageRecord r;
    r.group = "g";
    r.group_id = "CG";
    r.client_id = "c";
    r.body = std::string_view("\xFF\x00\x01", 3);
    JournalEntryBuffers buffers;
    build_journal_fields(r, "id", buffers);
    const auto f = as_map(buffers);
    EXPECT_EQ(f.at("MESSAGE"), "base64:/wAB");
    EXPECT_EQ(f.at("IOT_PAYLOAD_ENCODING"), "base64");
    for (const char* absent :
         {"IOT_TOPIC", "IOT_MESSAGE_ID", "IOT_GENERATE_TIME", "IOT_PRODUCT_KEY", "IOT_DEVICE_NAME"})
        EXPECT_EQ(f.count(absent), 0U) << absent;
}

TEST(JournalFields, EmptyBodyIsAnEmptyUtf8Message) {
    MessageRecord r = full_record();
    r.body = "";
    JournalEntryBuffers buffers;
    build_journal_fields(r, "id", buffers);
    const auto f = as_map(buffers);
    EXPECT_EQ(f.at("MESSAGE"), "");
    EXPECT_EQ(f.at("IOT_PAYLOAD_ENCODING"), "utf-8");
}

TEST(JsonLine, HasTheSameInformationAsTheJournalEntry) {
    std::string line;
    build_json_line(full_record(), line);
    EXPECT_EQ(line,
              "{\"group\":\"factory-a\",\"groupId\":\"CG123\",\"topic\":\"/a1PK/pump-7/thing/event/property/post\","
              "\"messageId\":\"1324198300680719360\",\"generateTime\":\"1613635594038\",\"productKey\":\"a1PK\","
              "\"deviceName\":\"pump-7\",\"clientId\":\"host-factory-a-1\",\"payloadEncoding\":\"utf-8\","
              "\"payload\":\"{\\\"items\\\":{\\\"Temperature\\\":{\\\"value\\\":24}}}\"}\n");
}

TEST(JsonLine, NonUtf8BodyAndTopicStayValidJson) {
    MessageRecord r;
    r.group = "g";
    r.group_id = "CG";
    r.client_id = "c";
    r.topic = std::string_view("/\xFF", 2);
    r.body = std::string_view("\x80", 1);
    std::string line;
    build_json_line(r, line);
    EXPECT_EQ(line,
              "{\"group\":\"g\",\"groupId\":\"CG\",\"topic\":\"base64:L/8=\",\"clientId\":\"c\","
              "\"payloadEncoding\":\"base64\",\"payload\":\"gA==\"}\n");
}

TEST(JsonLine, NonUtf8GroupIsTheFirstMemberAndStaysValidJson) {
    MessageRecord r;
    r.group = std::string_view("\xFE", 1);
    r.group_id = "CG";
    r.client_id = "c";
    r.body = "x";
    std::string line = "stale";
    build_json_line(r, line);
    EXPECT_EQ(line,
              "{\"group\":\"base64:/g==\",\"groupId\":\"CG\",\"clientId\":\"c\","
              "\"payloadEncoding\":\"utf-8\",\"payload\":\"x\"}\n");
}

// A profile's fields: in the journal as named, in a JSON line in camelCase
// without IOT_; an empty value and a group without an ID are left out.
TEST(ProfileFields, AreNamedByOneRule) {
    const std::vector<RecordField> fields{
        {"IOT_DEVICE_ID", "d-1"}, {"IOT_EVENT_TYPE", "report"}, {"IOT_PROP_ROOM_2", "7"}, {"IOT_SUBJECT", ""}};
    MessageRecord r;
    r.group = "g";
    r.client_id = "c";
    r.fields = &fields;
    r.body = "x";
    JournalEntryBuffers buffers;
    build_journal_fields(r, "id", buffers);
    const auto f = as_map(buffers);
    EXPECT_EQ(f.at("IOT_DEVICE_ID"), "d-1");
    EXPECT_EQ(f.at("IOT_EVENT_TYPE"), "report");
    EXPECT_EQ(f.at("IOT_PROP_ROOM_2"), "7");
    EXPECT_EQ(f.count("IOT_SUBJECT"), 0U);
    EXPECT_EQ(f.count("IOT_CONSUMER_GROUP_ID"), 0U);
    std::string line;
    build_json_line(r, line);
    EXPECT_EQ(line,
              "{\"group\":\"g\",\"deviceId\":\"d-1\",\"eventType\":\"report\",\"propRoom2\":\"7\","
              "\"clientId\":\"c\",\"payloadEncoding\":\"utf-8\",\"payload\":\"x\"}\n");
}

}  // namespace
}  // namespace iot
