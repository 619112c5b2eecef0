#include "iot-amqpd/amqp_decoding.hpp"

#include <proton/codec.h>
#include <proton/binary.hpp>
#include <proton/scalar.hpp>
#include <proton/types.hpp>
#include <proton/value.hpp>

#include <array>
#include <charconv>

namespace iot {
namespace {

std::string_view view_of(pn_bytes_t bytes) { return {bytes.start, bytes.size}; }

// The value at the cursor as text: a view into the message, or into `scratch` for numbers.
ValueRead value_text(pn_data_t* data, std::string& scratch, std::string_view& text) {
    switch (pn_data_type(data)) {
        case PN_NULL: return ValueRead::absent;
        case PN_STRING: text = view_of(pn_data_get_string(data)); return ValueRead::text;
        case PN_SYMBOL: text = view_of(pn_data_get_symbol(data)); return ValueRead::text;
        case PN_BINARY: text = view_of(pn_data_get_binary(data)); return ValueRead::text;
        case PN_LONG: scratch = std::to_string(pn_data_get_long(data)); break;
        case PN_ULONG: scratch = std::to_string(pn_data_get_ulong(data)); break;
        case PN_INT: scratch = std::to_string(pn_data_get_int(data)); break;
        case PN_UINT: scratch = std::to_string(pn_data_get_uint(data)); break;
        case PN_SHORT: scratch = std::to_string(pn_data_get_short(data)); break;
        case PN_USHORT: scratch = std::to_string(pn_data_get_ushort(data)); break;
        case PN_BYTE: scratch = std::to_string(pn_data_get_byte(data)); break;
        case PN_UBYTE: scratch = std::to_string(pn_data_get_ubyte(data)); break;
        case PN_BOOL: scratch = pn_data_get_bool(data) ? "true" : "false"; break;
        case PN_TIMESTAMP: scratch = std::to_string(pn_data_get_timestamp(data)); break;
        default: return ValueRead::unusual;
    }
    text = scratch;
    return ValueRead::text;
}

// Application properties may arrive as any scalar type (PROTOCOL.md §3.2):
// strings stay as they are, numbers become their decimal text.
void scalar_text(const proton::scalar& value, std::string& out) {
    switch (value.type()) {
        case proton::STRING: out = proton::get<std::string>(value); break;
        case proton::SYMBOL: out = proton::get<proton::symbol>(value); break;
        case proton::BINARY: {
            const auto bin = proton::get<proton::binary>(value);
            out.assign(bin.begin(), bin.end());
            break;
        }
        case proton::LONG: out = std::to_string(proton::get<std::int64_t>(value)); break;
        case proton::ULONG: out = std::to_string(proton::get<std::uint64_t>(value)); break;
        case proton::INT: out = std::to_string(proton::get<std::int32_t>(value)); break;
        case proton::UINT: out = std::to_string(proton::get<std::uint32_t>(value)); break;
        case proton::TIMESTAMP: out = std::to_string(proton::get<proton::timestamp>(value).milliseconds()); break;
        default: out = proton::to_string(value); break;
    }
}

}  // namespace

PropertyReader::PropertyReader(const proton::message& message)
    : cursor_(message.properties().value()), data_(cursor_.raw()) {
    pn_data_rewind(data_);
    if (!pn_data_next(data_) || pn_data_type(data_) != PN_MAP) return;  // no properties
    entries_ = pn_data_get_map(data_);
    pn_data_enter(data_);
}

PropertyReader::~PropertyReader() { pn_data_rewind(data_); }

bool PropertyReader::next(std::string_view& key) {
    if (index_ + 1 >= entries_ || !pn_data_next(data_)) return false;
    key = {};
    const pn_type_t key_type = pn_data_type(data_);
    if (key_type == PN_STRING) key = view_of(pn_data_get_string(data_));
    if (key_type == PN_SYMBOL) key = view_of(pn_data_get_symbol(data_));
    index_ += 2;
    return pn_data_next(data_);
}

ValueRead PropertyReader::value(std::string& scratch, std::string_view& text) {
    return value_text(data_, scratch, text);
}

ValueRead PropertyReader::scalar_value(std::string& scratch, std::string_view& text) {
    const ValueRead usual = value_text(data_, scratch, text);
    if (usual != ValueRead::unusual) return usual;
    std::array<char, 64> buffer{};
    char* end = buffer.data();
    switch (pn_data_type(data_)) {
        case PN_FLOAT:
            end = std::to_chars(buffer.data(), buffer.data() + buffer.size(), pn_data_get_float(data_)).ptr;
            break;
        case PN_DOUBLE:
            end = std::to_chars(buffer.data(), buffer.data() + buffer.size(), pn_data_get_double(data_)).ptr;
            break;
        case PN_UUID: {
            const pn_uuid_t uuid = pn_data_get_uuid(data_);
            static constexpr char kHex[] = "0123456789abcdef";
            for (std::size_t i = 0; i < sizeof uuid.bytes; ++i) {
                if (i == 4 || i == 6 || i == 8 || i == 10) *end++ = '-';
                const auto byte = static_cast<unsigned char>(uuid.bytes[i]);
                *end++ = kHex[byte >> 4U];
                *end++ = kHex[byte & 0xFU];
            }
            break;
        }
        case PN_CHAR:
            scratch = std::to_string(pn_data_get_char(data_));
            text = scratch;
            return ValueRead::text;
        default: return ValueRead::unusual;
    }
    scratch.assign(buffer.data(), end);
    text = scratch;
    return ValueRead::text;
}

std::optional<std::string_view> property_by_copy(const proton::message& message, const char* key,
                                                 std::string& scratch) {
    try {
        const auto& props = message.properties();
        if (props.empty()) return std::nullopt;
        const proton::scalar value = props.get(key);
        if (value.empty()) return std::nullopt;
        scalar_text(value, scratch);
        return std::string_view(scratch);
    } catch (const std::exception&) {
        return std::nullopt;  // a list or map where a scalar belongs
    }
}

std::string_view body_bytes(const proton::value& body, std::string& scratch) {
    const InPlaceValue cursor(body);
    pn_data_t* data = cursor.raw();
    pn_data_rewind(data);
    const pn_type_t type = pn_data_next(data) ? pn_data_type(data) : PN_NULL;
    std::string_view bytes;
    switch (type) {
        case PN_NULL:
            scratch.clear();
            bytes = scratch;
            break;
        case PN_BINARY: bytes = view_of(pn_data_get_binary(data)); break;
        case PN_STRING: bytes = view_of(pn_data_get_string(data)); break;
        default:
            scratch = proton::to_string(body);
            bytes = scratch;
            break;
    }
    pn_data_rewind(data);
    return bytes;
}

}  // namespace iot
