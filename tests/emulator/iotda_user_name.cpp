#include "iotda_user_name.hpp"

#include <array>
#include <charconv>
#include <vector>

namespace iot::emu {
namespace {

std::vector<std::string_view> split(std::string_view text, char sep) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    while (true) {
        const auto end = text.find(sep, start);
        out.push_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
        if (end == std::string_view::npos) return out;
        start = end + 1;
    }
}

// The cloud documents "13-digit millisecond" values: 10 or 16 digits are the
// seconds and microseconds mistakes a client could make.
bool parse_timestamp(std::string_view text, std::int64_t& out) {
    if (text.size() != 13) return false;
    for (const char c : text)
        if (c < '0' || c > '9') return false;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && ptr == text.data() + text.size();
}

}  // namespace

bool is_iotda_user_name(std::string_view text) {
    return text.substr(0, kIotdaUserNamePrefix.size()) == kIotdaUserNamePrefix;
}

IotdaUserNameResult parse_iotda_user_name(std::string_view text) {
    IotdaUserNameResult result;
    auto fail = [&result](std::string why) {
        result.error = std::move(why);
        return std::move(result);
    };
    const auto fields = split(text, '|');
    if (is_iotda_user_name(text)) result.access_key_hint = std::string(fields[0].substr(kIotdaUserNamePrefix.size()));
    static constexpr std::array<std::string_view, 3> kOrder{"accessKey", "timestamp", "instanceId"};
    if (fields.size() < 2) return fail("user name is not accessKey=...|timestamp=...");
    if (fields.size() > kOrder.size()) return fail("user name has more than accessKey, timestamp and instanceId");
    IotdaUserName user;
    for (std::size_t i = 0; i < fields.size(); ++i) {
        const std::string_view item = fields[i];
        if (item.empty()) return fail("user name has an empty field (a stray '|')");
        const auto eq = item.find('=');
        if (eq == std::string_view::npos) return fail("user name field without key=value");
        const std::string_view key = item.substr(0, eq);
        const std::string_view value = item.substr(eq + 1);
        if (key != kOrder[i]) {
            for (const auto known : kOrder)
                if (key == known) return fail("field " + std::string(key) + " is out of place or repeated");
            return fail("unknown field " + std::string(key));
        }
        if (value.empty()) return fail(std::string(key) + " is empty");
        if (i == 0) {
            user.access_key = std::string(value);
        } else if (i == 1) {
            if (!parse_timestamp(value, user.timestamp_ms)) return fail("timestamp must be 13 digits of milliseconds");
        } else {
            user.instance_id = std::string(value);
        }
    }
    result.user = std::move(user);
    return result;
}

}  // namespace iot::emu
