#include "iot-amqpd/duration.hpp"

#include <array>
#include <cstdint>
#include <limits>

#include "iot-amqpd/unit_number.hpp"

namespace iot {
namespace {

// Largest first, so format_duration tries the largest exact unit first.
constexpr std::array<UnitScale, 4> kUnits{{{"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}, {"ms", 1}}};

}  // namespace

std::optional<Millis> parse_duration(std::string_view text) {
    const std::optional<std::int64_t> ms = parse_with_unit(text, kUnits);
    if (!ms) return std::nullopt;
    return Millis{*ms};
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
    for (const UnitScale& unit : kUnits) {
        if (magnitude % unit.factor != 0) continue;
        if (unit.factor == kMinute && magnitude < 10 * kMinute) continue;
        return sign + std::to_string(magnitude / unit.factor) + std::string(unit.suffix);
    }
    return sign + std::to_string(magnitude) + "ms";  // unreachable: every value is a whole number of ms
}

}  // namespace iot
