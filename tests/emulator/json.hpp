// A minimal JSON value, writer and parser for the emulator's control protocol
// (one JSON object per reply line). Plain value type, no thread affinity.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace iot::emu {

class Json {
public:
    using Array = std::vector<Json>;
    using Object = std::map<std::string, Json>;

    Json() = default;  // null
    Json(std::nullptr_t) {}
    Json(bool b) : value_(b) {}
    Json(int n) : value_(static_cast<std::int64_t>(n)) {}
    Json(std::int64_t n) : value_(n) {}
    Json(std::uint64_t n) : value_(static_cast<std::int64_t>(n)) {}
    Json(double d) : value_(d) {}
    Json(const char* s) : value_(std::string(s)) {}
    Json(std::string s) : value_(std::move(s)) {}
    Json(Array a) : value_(std::make_shared<Array>(std::move(a))) {}
    Json(Object o) : value_(std::make_shared<Object>(std::move(o))) {}

    [[nodiscard]] bool is_null() const { return std::holds_alternative<std::monostate>(value_); }
    [[nodiscard]] bool is_bool() const { return std::holds_alternative<bool>(value_); }
    [[nodiscard]] bool is_int() const { return std::holds_alternative<std::int64_t>(value_); }
    [[nodiscard]] bool is_number() const { return is_int() || std::holds_alternative<double>(value_); }
    [[nodiscard]] bool is_string() const { return std::holds_alternative<std::string>(value_); }
    [[nodiscard]] bool is_array() const { return std::holds_alternative<std::shared_ptr<Array>>(value_); }
    [[nodiscard]] bool is_object() const { return std::holds_alternative<std::shared_ptr<Object>>(value_); }

    // Accessors throw std::runtime_error on a type mismatch.
    [[nodiscard]] bool as_bool() const;
    [[nodiscard]] std::int64_t as_int() const;  // a double is truncated
    [[nodiscard]] double as_double() const;
    [[nodiscard]] const std::string& as_string() const;
    [[nodiscard]] const Array& as_array() const;
    [[nodiscard]] const Object& as_object() const;

    // Object member; a null Json when absent or when this is not an object.
    [[nodiscard]] const Json& operator[](const std::string& key) const;
    // Dotted path through objects ("groups.CG1.accepted"); nullopt when absent.
    [[nodiscard]] std::optional<Json> at_path(std::string_view dotted) const;

    [[nodiscard]] std::string dump() const;  // compact, one line

    // Throws std::runtime_error with the offset on malformed input.
    [[nodiscard]] static Json parse(std::string_view text);

private:
    std::variant<std::monostate, bool, std::int64_t, double, std::string, std::shared_ptr<Array>,
                 std::shared_ptr<Object>>
        value_;
};

// Appends `text` as a quoted JSON string (UTF-8 passes through, controls escaped).
void append_json_string(std::string& out, std::string_view text);

}  // namespace iot::emu
