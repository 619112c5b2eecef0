// Independent reference implementations the fuzz targets check the product's
// output against: a UTF-8 validator written from Unicode's table of
// well-formed byte sequences, a strict base64 decoder and a parser for the
// flat JSON objects the stdout sink writes. Deliberately simple and written
// differently from src/encoding.cpp, so one bug cannot hide in both.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace iot::fuzz {

// Unicode 15, table 3-7 (well-formed UTF-8 byte sequences).
inline bool reference_utf8(std::string_view text) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned>(static_cast<unsigned char>(text[i])); };
    std::size_t i = 0;
    while (i < text.size()) {
        const unsigned lead = byte(i);
        unsigned second_low = 0x80;
        unsigned second_high = 0xBF;
        std::size_t length = 0;
        if (lead <= 0x7F) {
            ++i;
            continue;
        } else if (lead >= 0xC2 && lead <= 0xDF) {
            length = 2;
        } else if (lead == 0xE0) {
            length = 3, second_low = 0xA0;
        } else if (lead == 0xED) {
            length = 3, second_high = 0x9F;
        } else if (lead >= 0xE1 && lead <= 0xEF) {
            length = 3;
        } else if (lead == 0xF0) {
            length = 4, second_low = 0x90;
        } else if (lead >= 0xF1 && lead <= 0xF3) {
            length = 4;
        } else if (lead == 0xF4) {
            length = 4, second_high = 0x8F;
        } else {
            return false;
        }
        if (text.size() - i < length) return false;
        if (byte(i + 1) < second_low || byte(i + 1) > second_high) return false;
        for (std::size_t k = 2; k < length; ++k)
            if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return false;
        i += length;
    }
    return true;
}

// Standard alphabet, padded, canonical (unused bits zero); nullopt otherwise.
inline std::optional<std::string> decode_base64(std::string_view text) {
    const auto value_of = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '+') return 62;
        if (c == '/') return 63;
        return -1;
    };
    if (text.size() % 4 != 0) return std::nullopt;
    std::string out;
    for (std::size_t at = 0; at < text.size(); at += 4) {
        const bool last = at + 4 == text.size();
        std::size_t padding = 0;
        if (last && text[at + 3] == '=') padding = text[at + 2] == '=' ? 2 : 1;
        std::uint32_t bits = 0;
        for (std::size_t k = 0; k < 4; ++k) {
            bits <<= 6;
            if (k >= 4 - padding) continue;
            const int v = value_of(text[at + k]);
            if (v < 0) return std::nullopt;
            bits |= static_cast<std::uint32_t>(v);
        }
        const char bytes[3] = {static_cast<char>((bits >> 16) & 0xFF), static_cast<char>((bits >> 8) & 0xFF),
                               static_cast<char>(bits & 0xFF)};
        if (padding == 2 && (bits & 0xFFFF) != 0) return std::nullopt;
        if (padding == 1 && (bits & 0xFF) != 0) return std::nullopt;
        out.append(bytes, 3 - padding);
    }
    return out;
}

// Parses {"k":"v",...} with string values only (what the stdout sink writes);
// nullopt for anything else, including raw control characters in a string.
class FlatJsonParser {
public:
    using Members = std::vector<std::pair<std::string, std::string>>;

    static std::optional<Members> parse(std::string_view text) {
        FlatJsonParser parser(text);
        Members members;
        if (!parser.take('{')) return std::nullopt;
        if (parser.take('}')) return parser.at_end() ? std::optional<Members>(members) : std::nullopt;
        do {
            auto key = parser.string();
            if (!key || !parser.take(':')) return std::nullopt;
            auto value = parser.string();
            if (!value) return std::nullopt;
            members.emplace_back(std::move(*key), std::move(*value));
        } while (parser.take(','));
        if (!parser.take('}') || !parser.at_end()) return std::nullopt;
        return members;
    }

private:
    explicit FlatJsonParser(std::string_view text) : text_(text) {}

    bool at_end() const { return at_ == text_.size(); }

    bool take(char c) {
        if (at_ < text_.size() && text_[at_] == c) {
            ++at_;
            return true;
        }
        return false;
    }

    std::optional<unsigned> hex4() {
        if (text_.size() - at_ < 4) return std::nullopt;
        unsigned value = 0;
        for (int k = 0; k < 4; ++k) {
            const char c = text_[at_++];
            value <<= 4;
            if (c >= '0' && c <= '9')
                value |= static_cast<unsigned>(c - '0');
            else if (c >= 'a' && c <= 'f')
                value |= static_cast<unsigned>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F')
                value |= static_cast<unsigned>(c - 'A' + 10);
            else
                return std::nullopt;
        }
        return value;
    }

    static void append_utf8(std::string& out, unsigned cp) {
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xC0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xE0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
            out += static_cast<char>(0xF0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        }
    }

    std::optional<std::string> string() {
        if (!take('"')) return std::nullopt;
        std::string out;
        while (at_ < text_.size()) {
            const char c = text_[at_++];
            if (c == '"') return out;
            if (static_cast<unsigned char>(c) < 0x20) return std::nullopt;
            if (c != '\\') {
                out += c;
                continue;
            }
            if (at_ == text_.size()) return std::nullopt;
            switch (text_[at_++]) {
                case '"': out += '"'; break;
                case '\\': out += '\\'; break;
                case '/': out += '/'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'n': out += '\n'; break;
                case 'r': out += '\r'; break;
                case 't': out += '\t'; break;
                case 'u': {
                    auto cp = hex4();
                    if (!cp) return std::nullopt;
                    if (*cp >= 0xDC00 && *cp <= 0xDFFF) return std::nullopt;
                    if (*cp >= 0xD800 && *cp <= 0xDBFF) {
                        if (!take('\\') || !take('u')) return std::nullopt;
                        auto low = hex4();
                        if (!low || *low < 0xDC00 || *low > 0xDFFF) return std::nullopt;
                        *cp = 0x10000 + ((*cp - 0xD800) << 10) + (*low - 0xDC00);
                    }
                    append_utf8(out, *cp);
                    break;
                }
                default: return std::nullopt;
            }
        }
        return std::nullopt;
    }

    std::string_view text_;
    std::size_t at_ = 0;
};

}  // namespace iot::fuzz
