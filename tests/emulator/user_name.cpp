#include "user_name.hpp"

#include <charconv>

namespace iot::emu {
namespace {

std::size_t utf8_length(std::string_view s) {
    std::size_t n = 0;
    for (const char c : s)
        if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
    return n;
}

bool parse_timestamp(std::string_view text, std::int64_t& out) {
    // Canonical digits only: the signature is checked against std::to_string of the value.
    if (text.empty() || text.size() > 19 || (text.size() > 1 && text[0] == '0')) return false;
    for (const char c : text)
        if (c < '0' || c > '9') return false;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && ptr == text.data() + text.size();
}

}  // namespace

UserNameResult parse_user_name(std::string_view text) {
    UserNameResult result;
    const auto first = text.find('|');
    const auto last = text.rfind('|');
    if (first == std::string_view::npos || first == last) {
        result.error = "user name is not clientId|params|";
        return result;
    }
    if (last != text.size() - 1) {
        result.error = "user name must end with '|'";
        return result;
    }
    const std::string_view client_id = text.substr(0, first);
    const std::string_view params = text.substr(first + 1, last - first - 1);
    result.client_id_hint = std::string(client_id);

    std::map<std::string, std::string, std::less<>> values;
    std::string duplicate;
    std::string malformed;
    std::size_t start = 0;
    while (start <= params.size()) {
        auto end = params.find(',', start);
        if (end == std::string_view::npos) end = params.size();
        const std::string_view item = params.substr(start, end - start);
        const auto eq = item.find('=');
        if (eq == std::string_view::npos || eq == 0) {
            if (malformed.empty()) malformed = item.empty() ? "an empty parameter" : "a parameter without key=value";
        } else {
            const std::string key(item.substr(0, eq));
            if (!values.emplace(key, std::string(item.substr(eq + 1))).second && duplicate.empty()) duplicate = key;
        }
        start = end + 1;
    }
    if (const auto it = values.find("consumerGroupId"); it != values.end()) result.consumer_group_hint = it->second;

    auto fail = [&result](std::string why) {
        result.error = std::move(why);
        return std::move(result);
    };
    if (!malformed.empty()) return fail("user name has " + malformed);
    if (!duplicate.empty()) return fail("parameter " + duplicate + " appears twice");

    const std::size_t id_chars = utf8_length(client_id);
    if (id_chars == 0 || id_chars > kMaxClientIdChars) return fail("clientId must be 1..64 characters");

    UserName user;
    user.client_id = std::string(client_id);
    auto required = [&](const char* key) -> const std::string* {
        const auto it = values.find(key);
        return it == values.end() || it->second.empty() ? nullptr : &it->second;
    };
    for (const char* key : {"authMode", "signMethod", "timestamp", "authId", "consumerGroupId"})
        if (required(key) == nullptr) return fail(std::string("missing ") + key);

    const auto mode = parse_auth_mode(*required("authMode"));
    if (!mode) return fail("authMode must be aksign or ststoken");
    user.auth_mode = *mode;
    const auto method = parse_sign_method(*required("signMethod"));
    if (!method) return fail("signMethod must be hmacmd5, hmacsha1 or hmacsha256");
    user.sign_method = *method;
    user.timestamp_text = *required("timestamp");
    if (!parse_timestamp(user.timestamp_text, user.timestamp_ms)) return fail("timestamp must be milliseconds");
    user.auth_id = *required("authId");
    user.consumer_group_id = *required("consumerGroupId");
    if (const auto it = values.find("iotInstanceId"); it != values.end()) user.iot_instance_id = it->second;
    if (user.auth_mode == AuthMode::ststoken) {
        const auto* token = required("securityToken");
        if (token == nullptr) return fail("ststoken needs securityToken");
        user.security_token.emplace(*token);
    }
    result.user = std::move(user);
    return result;
}

}  // namespace iot::emu
