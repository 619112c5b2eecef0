// The server side of Huawei Cloud IoTDA's SASL PLAIN user name
// (/work/shared/clouds/huawei-iotda.md §2):
//   accessKey=<AK>|timestamp=<13-digit ms>[|instanceId=<id>]
// Parsed more strictly than the cloud is known to: the documented order only,
// no empty, unknown or repeated fields, no trailing '|'. The daemon builds the
// documented form; anything else is a bug the emulator should surface.
// Pure functions; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace iot::emu {

inline constexpr std::string_view kIotdaUserNamePrefix = "accessKey=";

struct IotdaUserName {
    std::string access_key;
    std::int64_t timestamp_ms = 0;
    std::optional<std::string> instance_id;  // nullopt when the field is absent
};

struct IotdaUserNameResult {
    std::optional<IotdaUserName> user;
    std::string error;            // why it was refused; the user name holds no secret
    std::string access_key_hint;  // the accessKey value even when the rest is invalid
};

// True when a user name belongs to the IoTDA dialect (Alibaba's start with a client id).
[[nodiscard]] bool is_iotda_user_name(std::string_view text);

[[nodiscard]] IotdaUserNameResult parse_iotda_user_name(std::string_view text);

}  // namespace iot::emu
