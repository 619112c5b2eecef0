// The server side of PROTOCOL.md §2.1: parsing the SASL PLAIN user name
// "clientId|k=v,...|" the way the cloud is believed to (split at the first and
// last '|', parameters in any order, unknown keys ignored, trailing '|' required).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "iot-amqpd/secret.hpp"
#include "iot-amqpd/signer.hpp"

namespace iot::emu {

struct UserName {
    std::string client_id;
    AuthMode auth_mode = AuthMode::aksign;
    SignMethod sign_method = SignMethod::hmacsha256;
    std::string timestamp_text;  // as sent: the signature covers these exact bytes
    std::int64_t timestamp_ms = 0;
    std::string auth_id;
    std::string consumer_group_id;
    std::optional<std::string> iot_instance_id;  // nullopt when the key is absent
    std::optional<Secret> security_token;        // present for ststoken
};

struct UserNameResult {
    std::optional<UserName> user;
    std::string error;  // why it was refused; never contains the security token
    // The consumer group named in the text, even when the rest is invalid, so a
    // failure can be counted against the group the client meant.
    std::string consumer_group_hint;
    std::string client_id_hint;
};

// clientId must be 1..64 characters (UTF-8 code points).
inline constexpr std::size_t kMaxClientIdChars = 64;

[[nodiscard]] UserNameResult parse_user_name(std::string_view text);

}  // namespace iot::emu
