// Which device a message is about, from its forwarding topic (PROTOCOL.md §5).
#pragma once

#include <string_view>

namespace iot {

struct DeviceRef {
    std::string_view product_key;  // empty when not derivable
    std::string_view device_name;  // empty when not derivable (e.g. OTA job status)
};

// Views into `topic`; both empty for topics that name no device.
//   /as/mqtt/status/{PK}/{DN}              -> segments 3, 4
//   /sys/{PK}/{DN}/...                     -> segments 2, 3 (cloud-gateway products)
//   /{PK}/{packageId}/{jobId}/ota/job/status -> PK only
//   /{PK}/{DN}/...                         -> segments 1, 2
[[nodiscard]] DeviceRef device_from_topic(std::string_view topic);

}  // namespace iot
