#include "iot-amqpd/byte_size.hpp"

#include <array>
#include <limits>

namespace iot {
namespace {

struct Unit {
    std::string_view suffix;
    std::int64_t bytes;
};

// Largest first, so format_byte_size tries the largest exact unit first.
constexpr std::array<Unit, 4> kUnits{{{"GiB", 1LL << 30}, {"MiB", 1LL << 20}, {"KiB", 1LL << 10}, {"B", 1}}};

}  // namespace

std::optional<std::int64_t> parse_byte_size(std::string_view text) {
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
    if (digits == 0) return std::nullopt;
    const std::string_view suffix = text.substr(digits);
    std::int64_t factor = 0;
    for (const Unit& unit : kUnits)
        if (unit.suffix == suffix) factor = unit.bytes;
    if (factor == 0) return std::nullopt;

    constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
    std::int64_t count = 0;
    for (std::size_t i = 0; i < digits; ++i) {
        const int digit = text[i] - '0';
        if (count > (kMax - digit) / 10) return std::nullopt;
        count = count * 10 + digit;
    }
    if (count > kMax / factor) return std::nullopt;
    return count * factor;
}

std::string format_byte_size(std::int64_t bytes) {
    if (bytes <= 0) return std::to_string(bytes) + "B";
    for (const Unit& unit : kUnits)
        if (bytes % unit.bytes == 0) return std::to_string(bytes / unit.bytes) + std::string(unit.suffix);
    return std::to_string(bytes) + "B";  // unreachable: B divides everything
}

}  // namespace iot
