// Durations in the config: an integer followed by ms, s, m or h ("1500ms", "60s").
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace iot {

using Millis = std::chrono::milliseconds;

// Returns nullopt for anything but <digits><unit>; no unit, negative and
// overflowing values are rejected.
[[nodiscard]] std::optional<Millis> parse_duration(std::string_view text);

// The shortest exact spelling: 60000ms -> "60s", 1500ms -> "1500ms".
[[nodiscard]] std::string format_duration(Millis value);

}  // namespace iot
