// Sizes in the config: an integer followed by B, KiB, MiB or GiB ("8MiB").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace iot {

// Returns nullopt for anything but <digits><unit>; no unit, negative and
// overflowing values are rejected. Units are binary (KiB = 1024 B) and
// written as IEC spells them, so "8MB" is not read as something it is not.
[[nodiscard]] std::optional<std::int64_t> parse_byte_size(std::string_view text);

// The largest exact unit: 8388608 -> "8MiB", 3072 -> "3KiB", 1500 -> "1500B".
[[nodiscard]] std::string format_byte_size(std::int64_t bytes);

}  // namespace iot
