// Reading a received message's application properties and body in place,
// shared by every cloud profile.
//
// proton-cpp's accessors copy: one props.get() decodes the whole property map
// into a std::map of scalars (and empties the message's encoded copy), and
// get<binary>() copies the body into a vector. proton's C API reads the same
// pn_data_t in place, so the common shapes (string, binary and integer values)
// become views into the message with no allocation.
//
// Thread: a reader is used on the thread that owns the message.
#pragma once

#include <proton/codec/decoder.hpp>
#include <proton/message.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace iot {

enum class ValueRead { absent, text, unusual };

// The public proton-cpp type that holds a value's pn_data_t; deriving reaches it.
class InPlaceValue final : public proton::codec::decoder {
public:
    explicit InPlaceValue(const proton::value& value) : proton::codec::decoder(value) {}
    [[nodiscard]] pn_data_t* raw() const { return pn_object(); }
};

// Walks the application properties map in encoded order.
class PropertyReader {
public:
    explicit PropertyReader(const proton::message& message);
    ~PropertyReader();
    PropertyReader(const PropertyReader&) = delete;
    PropertyReader& operator=(const PropertyReader&) = delete;

    // How many entries the map holds (0 without properties).
    [[nodiscard]] std::size_t size() const { return entries_ / 2; }
    // Moves to the next entry; false at the end. A key that is not a string or symbol reads as "".
    bool next(std::string_view& key);
    // The current entry's value as text: a view into the message, or into
    // `scratch` for numbers; `unusual` for a type only proton-cpp can print.
    ValueRead value(std::string& scratch, std::string_view& text);
    // As value(), and floating point numbers, UUIDs and characters in their
    // usual text forms too; `unusual` only for a list, map, array or described value.
    ValueRead scalar_value(std::string& scratch, std::string_view& text);

private:
    InPlaceValue cursor_;
    pn_data_t* data_;
    std::size_t entries_ = 0;
    std::size_t index_ = 0;
};

// A property read through proton-cpp (which copies, and throws on values it
// cannot convert): the fallback for `unusual` values. nullopt when absent or
// not convertible.
[[nodiscard]] std::optional<std::string_view> property_by_copy(const proton::message& message, const char* key,
                                                               std::string& scratch);

// The body's bytes: a data section as binary, an AMQP string section as its
// text, anything else (an amqp-value of another type) in proton's text form.
[[nodiscard]] std::string_view body_bytes(const proton::value& body, std::string& scratch);

}  // namespace iot
