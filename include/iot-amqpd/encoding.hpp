// Byte-level helpers for turning message bodies into journal and JSON text.
#pragma once

#include <string>
#include <string_view>

namespace iot {

// Strict UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
[[nodiscard]] bool is_valid_utf8(std::string_view bytes) noexcept;

// Standard base64 with padding, appended to `out`.
void append_base64(std::string& out, std::string_view bytes);

// Appends `text` (valid UTF-8) as the inside of a JSON string literal.
void append_json_escaped(std::string& out, std::string_view text);

}  // namespace iot
