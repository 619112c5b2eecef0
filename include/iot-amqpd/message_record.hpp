// One received message, as the outputs see it. Every view points into the
// proton message or the group's settings and is valid only during the write.
#pragma once

#include <optional>
#include <string_view>

#include "iot-amqpd/topic.hpp"

namespace iot {

struct MessageRecord {
    std::string_view group;      // the group's name in the config
    std::string_view group_id;   // the cloud's consumer group ID
    std::string_view client_id;  // the connection that received it
    std::optional<std::string_view> topic;
    std::optional<std::string_view> message_id;
    std::optional<std::string_view> generate_time;  // milliseconds, as text
    DeviceRef device;
    std::string_view body;  // raw bytes
};

}  // namespace iot
