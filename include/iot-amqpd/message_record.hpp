// One received message, as the outputs see it. Every view points into the
// proton message, the group's settings or the connection's scratch space and
// is valid only during the write.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace iot {

// A journal field a cloud profile adds (IOT_DEVICE_NAME=pump-7); the JSON
// line names it by the same rule (DESIGN.md §7): camelCase without IOT_ (deviceName).
struct RecordField {
    std::string_view name;  // a valid journal field name: [A-Z0-9_], starting with IOT_
    std::string_view value;
};

struct MessageRecord {
    std::string_view group;      // the group's name in the config
    std::string_view group_id;   // the cloud's name for what the group reads; empty: omitted
    std::string_view client_id;  // the connection that received it
    std::optional<std::string_view> topic;
    std::optional<std::string_view> message_id;
    std::optional<std::string_view> generate_time;     // milliseconds, as text
    const std::vector<RecordField>* fields = nullptr;  // the profile's own, in order; null: none
    std::string_view body;                             // raw bytes
};

}  // namespace iot
