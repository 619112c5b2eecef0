#include "message_factory.hpp"

#include <gtest/gtest.h>

#include <set>

#include "json.hpp"

namespace iot::emu {
namespace {

constexpr std::int64_t kNow = 1'800'000'000'123;

std::vector<std::string> split_topic(const std::string& topic) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (true) {
        const auto slash = topic.find('/', start);
        parts.push_back(topic.substr(start, slash - start));
        if (slash == std::string::npos) break;
        start = slash + 1;
    }
    return parts;
}

bool valid_utf8(const std::string& s) {
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (n == 0 || i + n > s.size() || (n == 2 && c < 0xC2)) return false;
        for (std::size_t k = 1; k < n; ++k)
            if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
        i += n;
    }
    return true;
}

TEST(EmulatorMessages, EveryKindHasItsDocumentedTopicShape) {
    for (const TopicKind kind : all_topic_kinds()) {
        PublishSpec spec;
        spec.group = "G";
        spec.kind = kind;
        spec.devices = 3;
        spec.id_prefix = "x";
        const EmuMessage m = make_message(spec, 5, kNow);
        const auto parts = split_topic(m.topic);
        SCOPED_TRACE(std::string(to_string(kind)) + " " + m.topic);
        EXPECT_EQ(m.message_id, "x5");
        EXPECT_EQ(m.generate_time_ms, kNow);
        // device-2 is the fifth message's device when cycling over three.
        switch (kind) {
            case TopicKind::status_online:
            case TopicKind::status_offline: EXPECT_EQ(m.topic, "/as/mqtt/status/a1TestProduct/device-2"); break;
            case TopicKind::cloud_gateway:
                EXPECT_EQ(m.topic, "/sys/a1TestProduct/device-2/device/status/notify");
                break;
            case TopicKind::ota_job_status:
                ASSERT_EQ(parts.size(), 7U);
                EXPECT_EQ(parts[1], "a1TestProduct");
                EXPECT_EQ(m.topic.substr(m.topic.size() - 15), "/ota/job/status");
                EXPECT_TRUE(m.device_name.empty());
                break;
            case TopicKind::garbage_topic:
                EXPECT_NE(m.topic[0], '/');
                EXPECT_TRUE(m.product_key.empty());
                break;
            default:
                ASSERT_GE(parts.size(), 4U);
                EXPECT_EQ(parts[1], "a1TestProduct");
                EXPECT_EQ(parts[2], "device-2");
        }
        const bool json =
            kind != TopicKind::custom_text && kind != TopicKind::custom_binary && kind != TopicKind::garbage_topic;
        if (json) {
            Json body;
            ASSERT_NO_THROW(body = Json::parse(m.body)) << m.body;
            EXPECT_EQ(m.body.size(), 300U) << "padded to the default size";
            const bool gateway_body = kind == TopicKind::topo_lifecycle || kind == TopicKind::list_found;
            const auto& pk = body[gateway_body ? "gwProductKey" : "productKey"];
            ASSERT_TRUE(pk.is_string()) << m.body;
            EXPECT_EQ(pk.as_string(), "a1TestProduct");
            if (!m.device_name.empty()) {
                EXPECT_EQ(body[gateway_body ? "gwDeviceName" : "deviceName"].as_string(), "device-2");
            }
        } else {
            EXPECT_EQ(m.body.size(), 300U);
        }
        EXPECT_EQ(valid_utf8(m.body), kind != TopicKind::custom_binary);
    }
}

TEST(EmulatorMessages, StatusBodiesCarryTheFieldsClientsOrderBy) {
    PublishSpec spec;
    spec.group = "G";
    spec.kind = TopicKind::status_offline;
    const auto body = Json::parse(make_message(spec, 1, kNow).body);
    for (const char* key : {"status", "iotId", "time", "utcTime", "lastTime", "utcLastTime", "clientIp"})
        EXPECT_FALSE(body[key].is_null()) << key;
    EXPECT_EQ(body["status"].as_string(), "offline");
    EXPECT_EQ(body["offlineReasonCode"].as_int(), 427);
    EXPECT_EQ(body["utcTime"].as_string(), "2027-01-15T08:00:00.123Z");
}

TEST(EmulatorMessages, SizesAreExactUpToTenMebibytes) {
    PublishSpec spec;
    spec.group = "G";
    spec.size = kMaxBodySize;
    EXPECT_EQ(make_message(spec, 1, kNow).body.size(), kMaxBodySize);
    spec.kind = TopicKind::custom_binary;
    EXPECT_EQ(make_message(spec, 1, kNow).body.size(), kMaxBodySize);
    spec.size = kMaxBodySize + 1;
    EXPECT_FALSE(validate(spec).empty());
    spec.size = 10;
    spec.kind = TopicKind::property_post;
    EXPECT_GT(make_message(spec, 1, kNow).body.size(), 10U) << "JSON is never cut short";
}

TEST(EmulatorMessages, OddShapes) {
    PublishSpec spec;
    spec.group = "G";
    spec.encoding = BodyEncoding::empty;
    EXPECT_TRUE(make_message(spec, 1, kNow).body.empty());

    spec.encoding = BodyEncoding::data;
    spec.props = PropsMode::long_id;
    spec.id_prefix = "abc";
    EXPECT_FALSE(validate(spec).empty()) << "a numeric id needs a numeric prefix";
    spec.id_prefix = "9000";
    ASSERT_TRUE(validate(spec).empty());
    EXPECT_EQ(make_message(spec, 7, kNow).numeric_id, 90007);
}

TEST(EmulatorMessages, MixedCyclesThroughEveryKindAndDevicesCycle) {
    PublishSpec spec;
    spec.group = "G";
    spec.kind.reset();
    spec.devices = 4;
    std::set<TopicKind> seen;
    std::set<std::string> devices;
    for (std::size_t n = 1; n <= all_topic_kinds().size(); ++n) {
        const auto m = make_message(spec, n, kNow);
        seen.insert(m.kind);
        if (!m.device_name.empty()) devices.insert(m.device_name);
    }
    EXPECT_EQ(seen.size(), all_topic_kinds().size());
    EXPECT_EQ(devices, (std::set<std::string>{"device-1", "device-2", "device-3", "device-4"}));
}

TEST(EmulatorMessages, KindNamesRoundTrip) {
    for (const TopicKind kind : all_topic_kinds()) EXPECT_EQ(parse_topic_kind(to_string(kind)), kind);
    EXPECT_FALSE(parse_topic_kind("mixed"));
}

}  // namespace
}  // namespace iot::emu
