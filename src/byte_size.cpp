#include "iot-amqpd/byte_size.hpp"

#include <array>

#include "iot-amqpd/unit_number.hpp"

namespace iot {
namespace {

// Largest first, so format_byte_size tries the largest exact unit first.
constexpr std::array<UnitScale, 4> kUnits{{{"GiB", 1LL << 30}, {"MiB", 1LL << 20}, {"KiB", 1LL << 10}, {"B", 1}}};

}  // namespace

std::optional<std::int64_t> parse_byte_size(std::string_view text) { return parse_with_unit(text, kUnits); }

std::string format_byte_size(std::int64_t bytes) {
    if (bytes <= 0) return std::to_string(bytes) + "B";
    for (const UnitScale& unit : kUnits)
        if (bytes % unit.factor == 0) return std::to_string(bytes / unit.factor) + std::string(unit.suffix);
    return std::to_string(bytes) + "B";  // unreachable: B divides everything
}

}  // namespace iot
