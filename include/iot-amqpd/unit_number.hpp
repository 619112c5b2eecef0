// The config's numbers with a unit ("60s", "8MiB"): digits, then one of a
// table's suffixes, scaled by its factor. Durations and sizes share it.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>

namespace iot {

struct UnitScale {
    std::string_view suffix;
    std::int64_t factor;
};

// nullopt for anything but <digits><suffix>: no unit, an unknown one, a sign,
// and a value beyond int64 are all rejected.
template <std::size_t N>
[[nodiscard]] std::optional<std::int64_t> parse_with_unit(std::string_view text,
                                                          const std::array<UnitScale, N>& units) {
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
    if (digits == 0) return std::nullopt;
    const std::string_view suffix = text.substr(digits);
    std::int64_t factor = 0;
    for (const UnitScale& unit : units)
        if (unit.suffix == suffix) factor = unit.factor;
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

}  // namespace iot
