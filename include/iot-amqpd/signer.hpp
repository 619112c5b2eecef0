// The cloud's SASL PLAIN credentials (PROTOCOL.md §2): the structured user name
// and the HMAC password over "authId=..[&securityToken=..]&timestamp=..".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "iot-amqpd/secret.hpp"

namespace iot {

enum class AuthMode { aksign, ststoken };
enum class SignMethod { hmacmd5, hmacsha1, hmacsha256 };

[[nodiscard]] std::string_view to_string(AuthMode mode);
[[nodiscard]] std::string_view to_string(SignMethod method);
// Case-insensitive, as the cloud appears to accept "Hmacsha1".
[[nodiscard]] std::optional<AuthMode> parse_auth_mode(std::string_view text);
[[nodiscard]] std::optional<SignMethod> parse_sign_method(std::string_view text);

struct SignRequest {
    AuthMode auth_mode = AuthMode::aksign;
    SignMethod sign_method = SignMethod::hmacsha256;
    std::string access_key_id;
    const Secret* access_key_secret = nullptr;  // borrowed, must outlive the call
    const Secret* security_token = nullptr;     // required for ststoken
    std::int64_t timestamp_ms = 0;
    std::string client_id;
    std::string consumer_group_id;
    std::string iot_instance_id;
};

struct Credentials {
    std::string user_name;  // carries the security token for ststoken: treat as secret too
    Secret password;
};

// The string the password signs: parameters sorted by key, "k=v" joined by '&'.
[[nodiscard]] std::string string_to_sign(std::string_view access_key_id, const Secret* security_token,
                                         std::int64_t timestamp_ms);

// base64(HMAC_method(key, data)).
[[nodiscard]] Secret hmac_base64(SignMethod method, const Secret& key, std::string_view data);

// Builds a fresh user name and password for one connection attempt.
[[nodiscard]] Credentials sign(const SignRequest& request);

}  // namespace iot
