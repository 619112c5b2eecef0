#include "json.hpp"

#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace iot::emu {
namespace {

class Parser {
public:
    explicit Parser(std::string_view text) : text_(text) {}

    Json parse_document() {
        Json value = parse_value(0);
        skip_space();
        if (pos_ != text_.size()) fail("trailing characters");
        return value;
    }

private:
    static constexpr int kMaxDepth = 64;

    [[noreturn]] void fail(const char* what) const {
        throw std::runtime_error("JSON parse error at offset " + std::to_string(pos_) + ": " + what);
    }

    void skip_space() {
        while (pos_ < text_.size() &&
               (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r'))
            ++pos_;
    }

    bool consume(std::string_view word) {
        if (text_.substr(pos_, word.size()) != word) return false;
        pos_ += word.size();
        return true;
    }

    Json parse_value(int depth) {
        if (depth > kMaxDepth) fail("nesting too deep");
        skip_space();
        if (pos_ >= text_.size()) fail("unexpected end");
        const char c = text_[pos_];
        if (c == '{') return parse_object(depth);
        if (c == '[') return parse_array(depth);
        if (c == '"') return Json(parse_string());
        if (consume("true")) return Json(true);
        if (consume("false")) return Json(false);
        if (consume("null")) return Json();
        return parse_number();
    }

    Json parse_object(int depth) {
        ++pos_;
        Json::Object obj;
        skip_space();
        if (pos_ < text_.size() && text_[pos_] == '}') {
            ++pos_;
            return Json(std::move(obj));
        }
        while (true) {
            skip_space();
            if (pos_ >= text_.size() || text_[pos_] != '"') fail("expected a member name");
            std::string key = parse_string();
            skip_space();
            if (pos_ >= text_.size() || text_[pos_] != ':') fail("expected ':'");
            ++pos_;
            obj[std::move(key)] = parse_value(depth + 1);
            skip_space();
            if (pos_ < text_.size() && text_[pos_] == ',') {
                ++pos_;
                continue;
            }
            if (pos_ < text_.size() && text_[pos_] == '}') {
                ++pos_;
                return Json(std::move(obj));
            }
            fail("expected ',' or '}'");
        }
    }

    Json parse_array(int depth) {
        ++pos_;
        Json::Array arr;
        skip_space();
        if (pos_ < text_.size() && text_[pos_] == ']') {
            ++pos_;
            return Json(std::move(arr));
        }
        while (true) {
            arr.push_back(parse_value(depth + 1));
            skip_space();
            if (pos_ < text_.size() && text_[pos_] == ',') {
                ++pos_;
                continue;
            }
            if (pos_ < text_.size() && text_[pos_] == ']') {
                ++pos_;
                return Json(std::move(arr));
            }
            fail("expected ',' or ']'");
        }
    }

    unsigned parse_hex4() {
        if (pos_ + 4 > text_.size()) fail("short \\u escape");
        unsigned v = 0;
        for (int i = 0; i < 4; ++i) {
            const char h = text_[pos_++];
            v <<= 4;
            if (h >= '0' && h <= '9')
                v |= static_cast<unsigned>(h - '0');
            else if (h >= 'a' && h <= 'f')
                v |= static_cast<unsigned>(h - 'a' + 10);
            else if (h >= 'A' && h <= 'F')
                v |= static_cast<unsigned>(h - 'A' + 10);
            else
                fail("bad hex digit");
        }
        return v;
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

    std::string parse_string() {
        ++pos_;  // opening quote
        std::string out;
        while (true) {
            if (pos_ >= text_.size()) fail("unterminated string");
            const char c = text_[pos_++];
            if (c == '"') return out;
            if (static_cast<unsigned char>(c) < 0x20) fail("control character in string");
            if (c != '\\') {
                out += c;
                continue;
            }
            if (pos_ >= text_.size()) fail("unterminated escape");
            const char e = text_[pos_++];
            switch (e) {
                case '"': out += '"'; break;
                case '\\': out += '\\'; break;
                case '/': out += '/'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'n': out += '\n'; break;
                case 'r': out += '\r'; break;
                case 't': out += '\t'; break;
                case 'u': {
                    unsigned cp = parse_hex4();
                    if (cp >= 0xD800 && cp < 0xDC00 && consume("\\u")) {
                        const unsigned low = parse_hex4();
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    }
                    append_utf8(out, cp);
                    break;
                }
                default: fail("bad escape");
            }
        }
    }

    Json parse_number() {
        const std::size_t start = pos_;
        bool is_float = false;
        if (pos_ < text_.size() && text_[pos_] == '-') ++pos_;
        while (pos_ < text_.size()) {
            const char c = text_[pos_];
            if (c >= '0' && c <= '9') {
                ++pos_;
            } else if (c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
                is_float = true;
                ++pos_;
            } else {
                break;
            }
        }
        if (start == pos_) fail("unexpected character");
        const std::string token(text_.substr(start, pos_ - start));
        try {
            if (!is_float) return Json(static_cast<std::int64_t>(std::stoll(token)));
            return Json(std::stod(token));
        } catch (const std::exception&) {
            fail("bad number");
        }
    }

    std::string_view text_;
    std::size_t pos_ = 0;
};

const Json& null_json() {
    static const Json kNull;
    return kNull;
}

[[noreturn]] void type_error(const char* wanted) {
    throw std::runtime_error(std::string("JSON value is not ") + wanted);
}

}  // namespace

bool Json::as_bool() const {
    if (!is_bool()) type_error("a boolean");
    return std::get<bool>(value_);
}

std::int64_t Json::as_int() const {
    if (is_int()) return std::get<std::int64_t>(value_);
    if (std::holds_alternative<double>(value_)) return static_cast<std::int64_t>(std::get<double>(value_));
    type_error("a number");
}

double Json::as_double() const {
    if (is_int()) return static_cast<double>(std::get<std::int64_t>(value_));
    if (std::holds_alternative<double>(value_)) return std::get<double>(value_);
    type_error("a number");
}

const std::string& Json::as_string() const {
    if (!is_string()) type_error("a string");
    return std::get<std::string>(value_);
}

const Json::Array& Json::as_array() const {
    if (!is_array()) type_error("an array");
    return *std::get<std::shared_ptr<Array>>(value_);
}

const Json::Object& Json::as_object() const {
    if (!is_object()) type_error("an object");
    return *std::get<std::shared_ptr<Object>>(value_);
}

const Json& Json::operator[](const std::string& key) const {
    if (!is_object()) return null_json();
    const auto& obj = as_object();
    const auto it = obj.find(key);
    return it == obj.end() ? null_json() : it->second;
}

std::optional<Json> Json::at_path(std::string_view dotted) const {
    const Json* node = this;
    while (!dotted.empty()) {
        const auto dot = dotted.find('.');
        const std::string key(dotted.substr(0, dot));
        if (!node->is_object()) return std::nullopt;
        const auto& obj = node->as_object();
        const auto it = obj.find(key);
        if (it == obj.end()) return std::nullopt;
        node = &it->second;
        dotted = dot == std::string_view::npos ? std::string_view() : dotted.substr(dot + 1);
    }
    return *node;
}

namespace {

constexpr bool needs_escape(char c) { return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20; }

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
    out += '"';
    // Runs of characters that need no escape are appended whole: the emulator
    // builds every message body with this, so it is on the publish path.
    std::size_t plain = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (!needs_escape(c)) continue;
        out.append(text, plain, i - plain);
        plain = i + 1;
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default: {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
                out += buf;
            }
        }
    }
    out.append(text, plain, text.size() - plain);
    out += '"';
}

std::string Json::dump() const {
    std::string out;
    if (is_null()) {
        out = "null";
    } else if (is_bool()) {
        out = as_bool() ? "true" : "false";
    } else if (is_int()) {
        out = std::to_string(as_int());
    } else if (std::holds_alternative<double>(value_)) {
        const double d = std::get<double>(value_);
        if (!std::isfinite(d)) {
            out = "null";
        } else {
            char buf[32];
            std::snprintf(buf, sizeof buf, "%.6g", d);
            out = buf;
        }
    } else if (is_string()) {
        append_json_string(out, as_string());
    } else if (is_array()) {
        out += '[';
        bool first = true;
        for (const auto& v : as_array()) {
            if (!first) out += ',';
            first = false;
            out += v.dump();
        }
        out += ']';
    } else {
        out += '{';
        bool first = true;
        for (const auto& [k, v] : as_object()) {
            if (!first) out += ',';
            first = false;
            append_json_string(out, k);
            out += ':';
            out += v.dump();
        }
        out += '}';
    }
    return out;
}

Json Json::parse(std::string_view text) { return Parser(text).parse_document(); }

}  // namespace iot::emu
