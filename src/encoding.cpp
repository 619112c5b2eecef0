#include "iot-amqpd/encoding.hpp"

#include <array>
#include <cstdint>
#include <cstring>

namespace iot {
namespace {

// How many bytes each byte grows by inside a JSON string: \" \\ \n \r \t
// take one more, other control characters become \u00XX (five more).
constexpr std::array<unsigned char, 256> make_json_escape_extra() {
    std::array<unsigned char, 256> extra{};
    for (std::size_t c = 0; c < 0x20; ++c) extra[c] = 5;
    extra['\n'] = extra['\r'] = extra['\t'] = 1;
    extra['"'] = extra['\\'] = 1;
    return extra;
}
constexpr std::array<unsigned char, 256> kJsonEscapeExtra = make_json_escape_extra();

}  // namespace

bool is_valid_utf8(std::string_view bytes) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    const auto* const end = p + bytes.size();
    while (p < end) {
        // Device payloads are mostly ASCII JSON: skip such runs eight bytes at a time.
        while (end - p >= 8) {
            std::uint64_t chunk = 0;
            std::memcpy(&chunk, p, sizeof chunk);
            if ((chunk & 0x8080808080808080ULL) != 0) break;
            p += 8;
        }
        if (p == end) break;
        const unsigned char c = *p;
        if (c < 0x80) {
            ++p;
            continue;
        }
        std::size_t len = 0;
        std::uint32_t cp = 0;
        std::uint32_t min = 0;
        if ((c & 0xE0) == 0xC0) {
            len = 2, cp = c & 0x1Fu, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3, cp = c & 0x0Fu, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4, cp = c & 0x07u, min = 0x10000;
        } else {
            return false;
        }
        if (static_cast<std::size_t>(end - p) < len) return false;
        for (std::size_t i = 1; i < len; ++i) {
            if ((p[i] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (p[i] & 0x3Fu);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        p += len;
    }
    return true;
}

void append_base64(std::string& out, std::string_view bytes) {
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    std::size_t n = bytes.size();
    const std::size_t start = out.size();
    out.resize(start + 4 * ((n + 2) / 3));  // written in place: one size change, not one per character
    char* w = out.data() + start;
    for (; n >= 3; n -= 3, p += 3) {
        const std::uint32_t v = (std::uint32_t{p[0]} << 16) | (std::uint32_t{p[1]} << 8) | p[2];
        *w++ = kAlphabet[(v >> 18) & 63];
        *w++ = kAlphabet[(v >> 12) & 63];
        *w++ = kAlphabet[(v >> 6) & 63];
        *w++ = kAlphabet[v & 63];
    }
    if (n > 0) {
        std::uint32_t v = std::uint32_t{p[0]} << 16;
        if (n == 2) v |= std::uint32_t{p[1]} << 8;
        *w++ = kAlphabet[(v >> 18) & 63];
        *w++ = kAlphabet[(v >> 12) & 63];
        *w++ = n == 2 ? kAlphabet[(v >> 6) & 63] : '=';
        *w = '=';
    }
}

void append_json_escaped(std::string& out, std::string_view text) {
    static constexpr char kHex[] = "0123456789abcdef";
    // A JSON body has a quote every few bytes: count the escapes first, then
    // grow `out` once and write in place instead of appending piece by piece.
    std::size_t extra = 0;
    for (const char ch : text) extra += kJsonEscapeExtra[static_cast<unsigned char>(ch)];
    if (extra == 0) {
        out.append(text);
        return;
    }
    const std::size_t start = out.size();
    out.resize(start + text.size() + extra);
    char* w = out.data() + start;
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (kJsonEscapeExtra[c] == 0) {
            *w++ = ch;
            continue;
        }
        *w++ = '\\';
        switch (c) {
            case '"': *w++ = '"'; break;
            case '\\': *w++ = '\\'; break;
            case '\n': *w++ = 'n'; break;
            case '\r': *w++ = 'r'; break;
            case '\t': *w++ = 't'; break;
            default:
                *w++ = 'u';
                *w++ = '0';
                *w++ = '0';
                *w++ = kHex[c >> 4];
                *w++ = kHex[c & 15];
        }
    }
}

}  // namespace iot
