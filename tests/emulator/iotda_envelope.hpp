// The JSON envelope Huawei Cloud IoTDA pushes as the AMQP body of a forwarded
// device message or property report (/work/shared/clouds/huawei-iotda.md §4):
// {"resource","event","event_time","event_time_ms"?,"request_id"?,
//  "notify_data":{"header":{...},"body":{...}}}. The cloud documents no AMQP
// properties, so the device id, message id and times exist only in here.
// Pure functions; any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace iot::emu {

enum class IotdaResource { message, property, mixed };  // mixed: odd n message, even n property

[[nodiscard]] std::optional<IotdaResource> parse_iotda_resource(std::string_view text);

inline constexpr const char* kIotdaProductId = "iotda-product";
inline constexpr const char* kIotdaAppId = "iotda-app";

struct IotdaSpec {
    IotdaResource resource = IotdaResource::message;
    bool request_id = true;     // false: the optional request_id is left out
    bool event_time_ms = true;  // false: the optional event_time_ms is left out
    // Message n's event time is base_time_ms + n - 1: a duplicate (same n) is
    // then byte-for-byte the same body, as a client deduplicating by body needs.
    std::int64_t base_time_ms = 0;
};

struct IotdaEnvelope {
    std::string body;       // UTF-8 JSON
    std::string device_id;  // "<product_id>_node-<k>"
    std::string resource;   // "device.message" or "device.property"
};

// Message n (1-based), device (n - 1) % devices + 1; `request_id` is used when
// the spec includes one.
[[nodiscard]] IotdaEnvelope make_iotda_envelope(const IotdaSpec& spec, std::size_t n, std::size_t devices,
                                                const std::string& request_id);

// "yyyyMMdd'T'HHmmss'Z'" and "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'" of a UTC epoch-ms value.
[[nodiscard]] std::string iotda_event_time(std::int64_t ms);
[[nodiscard]] std::string iotda_event_time_ms(std::int64_t ms);

}  // namespace iot::emu
