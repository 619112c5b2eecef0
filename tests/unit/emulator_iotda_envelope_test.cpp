#include "iotda_envelope.hpp"

#include <gtest/gtest.h>

#include "json.hpp"
#include "message_factory.hpp"

namespace iot::emu {
namespace {

constexpr std::int64_t kBase = 1764930600123;  // 2025-12-05T10:30:00.123Z

TEST(EmulatorIotdaEnvelope, TimesHaveTheDocumentedShapes) {
    EXPECT_EQ(iotda_event_time(kBase), "20251205T103000Z");
    EXPECT_EQ(iotda_event_time_ms(kBase), "2025-12-05T10:30:00.123Z");
}

TEST(EmulatorIotdaEnvelope, MessageReport) {
    IotdaSpec spec;
    spec.base_time_ms = kBase;
    const auto e = make_iotda_envelope(spec, 3, 2, "req-3");
    const Json j = Json::parse(e.body);
    EXPECT_EQ(j["resource"].as_string(), "device.message");
    EXPECT_EQ(j["event"].as_string(), "report");
    EXPECT_EQ(j["event_time"].as_string(), "20251205T103000Z");
    EXPECT_EQ(j["event_time_ms"].as_string(), "2025-12-05T10:30:00.125Z");
    EXPECT_EQ(j["request_id"].as_string(), "req-3");
    const Json& header = j["notify_data"]["header"];
    EXPECT_EQ(header["device_id"].as_string(), "iotda-product_node-1");
    EXPECT_EQ(header["node_id"].as_string(), "node-1");
    EXPECT_EQ(header["product_id"].as_string(), "iotda-product");
    EXPECT_TRUE(header["tags"].is_array());
    EXPECT_TRUE(j["notify_data"]["body"]["content"].is_string());
    EXPECT_EQ(e.device_id, "iotda-product_node-1");
}

TEST(EmulatorIotdaEnvelope, PropertyReportAndOptionalFields) {
    IotdaSpec spec;
    spec.base_time_ms = kBase;
    spec.resource = IotdaResource::property;
    spec.request_id = false;
    spec.event_time_ms = false;
    const Json j = Json::parse(make_iotda_envelope(spec, 1, 1, "unused").body);
    EXPECT_EQ(j["resource"].as_string(), "device.property");
    EXPECT_FALSE(j.as_object().count("request_id"));
    EXPECT_FALSE(j.as_object().count("event_time_ms"));
    const auto& services = j["notify_data"]["body"]["services"].as_array();
    ASSERT_EQ(services.size(), 1U);
    EXPECT_TRUE(services[0]["properties"].is_object());
    EXPECT_EQ(services[0]["event_time"].as_string(), "20251205T103000Z");

    spec.resource = IotdaResource::mixed;
    EXPECT_NE(make_iotda_envelope(spec, 1, 1, "").body.find("device.message"), std::string::npos);
    EXPECT_NE(make_iotda_envelope(spec, 2, 1, "").body.find("device.property"), std::string::npos);
}

TEST(EmulatorIotdaEnvelope, PublicationsMakeDataSectionsWithoutPropertiesAndDuplicatesAreIdentical) {
    PublishSpec spec;
    spec.group = iotda_queue_key("DefaultQueue");
    spec.count = 3;
    spec.dup = 2;
    spec.id_prefix = "r-";
    spec.iotda = IotdaSpec{};
    spec.iotda->base_time_ms = kBase;
    ASSERT_EQ(validate(spec), "");
    const Publication pub(spec);
    const auto first = pub.make(0, 1);
    const auto again = pub.make(3, 999999);  // the duplicate of n = 1, made later
    EXPECT_EQ(first->message_id, "r-1");
    EXPECT_EQ(again->message_id, "r-1");
    EXPECT_EQ(first->body, again->body);
    EXPECT_EQ(first->props, PropsMode::none);
    EXPECT_EQ(first->encoding, BodyEncoding::data);
    EXPECT_NE(pub.make(1, 1)->body, first->body);
    EXPECT_EQ(iotda_queue_of_key(spec.group), "DefaultQueue");
    EXPECT_TRUE(is_iotda_queue_key(spec.group));
    EXPECT_FALSE(is_iotda_queue_key("CG1"));
}

}  // namespace
}  // namespace iot::emu
