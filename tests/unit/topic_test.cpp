#include "iot-amqpd/topic.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <ostream>
#include <string>

namespace iot {
namespace {

struct TopicRow {
    const char* topic;
    const char* product_key;
    const char* device_name;
};

// Readable test names and failure messages: the topic itself.
void PrintTo(const TopicRow& row, std::ostream* out) { *out << '"' << row.topic << '"'; }

std::string row_name(const ::testing::TestParamInfo<TopicRow>& info) {
    std::string name = "row" + std::to_string(info.index) + "_";
    for (const char* p = info.param.topic; *p != '\0'; ++p)
        name += std::isalnum(static_cast<unsigned char>(*p)) ? *p : '_';
    return name;
}

class TopicRows : public ::testing::TestWithParam<TopicRow> {};

TEST_P(TopicRows, DerivesProductKeyAndDeviceName) {
    const auto ref = device_from_topic(GetParam().topic);
    EXPECT_EQ(ref.product_key, GetParam().product_key) << GetParam().topic;
    EXPECT_EQ(ref.device_name, GetParam().device_name) << GetParam().topic;
}

// Every row of PROTOCOL.md §5, then topics that name no device.
INSTANTIATE_TEST_SUITE_P(Protocol5, TopicRows,
                         ::testing::Values(TopicRow{"/as/mqtt/status/a1PK/pump-7", "a1PK", "pump-7"},
                                           TopicRow{"/a1PK/pump-7/thing/event/property/post", "a1PK", "pump-7"},
                                           TopicRow{"/a1PK/pump-7/thing/event/alarm/post", "a1PK", "pump-7"},
                                           TopicRow{"/a1PK/pump-7/thing/property/batch/post", "a1PK", "pump-7"},
                                           TopicRow{"/a1PK/pump-7/thing/event/batch/post", "a1PK", "pump-7"},
                                           TopicRow{"/a1PK/pump-7/thing/downlink/reply/message", "a1PK", "pump-7"},
                                           TopicRow{"/a1PK/pump-7/thing/event/property/history/post", "a1PK", "pump-7"},
                                           TopicRow{"/a1PK/pump-7/thing/event/alarm/history/post", "a1PK", "pump-7"},
                                           TopicRow{"/a1PK/pump-7/thing/lifecycle", "a1PK", "pump-7"},
                                           TopicRow{"/a1PK/gw-1/thing/topo/lifecycle", "a1PK", "gw-1"},
                                           TopicRow{"/a1PK/gw-1/thing/list/found", "a1PK", "gw-1"},
                                           TopicRow{"/a1PK/pump-7/ota/upgrade", "a1PK", "pump-7"},
                                           TopicRow{"/a1PK/pump-7/ota/progress/post", "a1PK", "pump-7"},
                                           TopicRow{"/a1PK/pump-7/ota/version/post", "a1PK", "pump-7"},
                                           TopicRow{"/a1PK/pkg-9/job-3/ota/job/status", "a1PK", ""},
                                           TopicRow{"/a1PK/pump-7/thing/deviceinfo/update", "a1PK", "pump-7"},
                                           TopicRow{"/a1PK/pump-7/user/telemetry/raw", "a1PK", "pump-7"},
                                           TopicRow{"/sys/a1PK/pump-7/device/status/notify", "a1PK", "pump-7"},
                                           // no device in these
                                           TopicRow{"", "", ""}, TopicRow{"/", "", ""}, TopicRow{"garbage", "", ""},
                                           TopicRow{"/onlyone", "", ""}, TopicRow{"/a1PK/pump-7", "", ""},
                                           TopicRow{"//pump-7/thing/lifecycle", "", ""},
                                           TopicRow{"/as/mqtt/status/a1PK", "", ""}, TopicRow{"/sys/a1PK", "", ""},
                                           TopicRow{"/ota/job/status", "", ""}),
                         row_name);

}  // namespace
}  // namespace iot
