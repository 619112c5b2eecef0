#include "iot-amqpd/duration.hpp"

#include <array>
#include <cstdint>
#include <limits>

namespace iot {
namespace {

struct Unit {
    std::string_view suffix;
    std::int64_t millis;
};

// Largest first, so format_duration tries the largest exact unit first.
constexpr std::array<Unit, 4> kUnits{{{"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}, {"ms", 1}}};

std::optional<std::int64_t> unit_millis(std::string_view suffix) {
    for (const Unit& unit : kUnits)
        if (unit.suffix == suffix) return unit.millis;
    return std::nullopt;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::optional<Millis> parse_duration(std::string_view text) {
    std::size_t digits = 0;
    while (digits < text.size() && is_digit(text[digits])) ++digits;
    if (digits == 0) return std::nullopt;
    const auto factor = unit_millis(text.substr(digits));
    if (!factor) return std::nullopt;

    constexpr std::int64_t kMax = std::numeric_limits<Millis::rep>::max();
    std::int64_t count = 0;
    for (std::size_t i = 0; i < digits; ++i) {
        const int digit = text[i] - '0';
        if (count > (kMax - digit) / 10) return std::nullopt;
        count = count * 10 + digit;
    }
    if (count > kMax / *factor) return std::nullopt;
    return Millis{count * *factor};
}

// The spelling DESIGN.md uses for limits and defaults (100ms, 60s, 300s, 10m,
// 1h): the largest exact unit, except that minutes start at 10 minutes, as
// "60s" and "300s" read more naturally than "1m" and "5m".
std::string format_duration(Millis value) {
    constexpr std::int64_t kMinute = 60'000;
    const std::int64_t ms = value.count();
    if (ms == 0) return "0s";
    if (ms == std::numeric_limits<Millis::rep>::min()) return std::to_string(ms) + "ms";
    const std::string sign = ms < 0 ? "-" : "";
    const std::int64_t magnitude = ms < 0 ? -ms : ms;
    for (const Unit& unit : kUnits) {
        if (magnitude % unit.millis != 0) continue;
        if (unit.millis == kMinute && magnitude < 10 * kMinute) continue;
        return sign + std::to_string(magnitude / unit.millis) + std::string(unit.suffix);
    }
    return sign + std::to_string(magnitude) + "ms";  // unreachable: every value is a whole number of ms
}

}  // namespace iot
