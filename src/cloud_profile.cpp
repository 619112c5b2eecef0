#include "iot-amqpd/cloud_profile.hpp"

#include <proton/codec.h>
#include <proton/binary.hpp>
#include <proton/codec/decoder.hpp>
#include <proton/scalar.hpp>
#include <proton/types.hpp>
#include <proton/value.hpp>

#include <string_view>

#include "iot-amqpd/topic.hpp"

namespace iot {
namespace {

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

std::optional<std::string_view> property(const proton::message::property_map& props, const char* key,
                                         std::string& scratch) {
    if (props.empty()) return std::nullopt;
    const proton::scalar value = props.get(key);
    if (value.empty()) return std::nullopt;
    scalar_text(value, scratch);
    return std::string_view(scratch);
}

// ---- reading in place ---------------------------------------------------------
//
// proton-cpp's accessors copy: one props.get() decodes the whole property map
// into a std::map of scalars (and empties the message's encoded copy), and
// get<binary>() copies the body into a vector. proton's C API reads the same
// pn_data_t in place, so the common shapes (string, binary and integer
// values) become views into the message with no allocation. The decoder is the
// public proton-cpp type that holds a value's pn_data_t; deriving reaches it.
class InPlace final : public proton::codec::decoder {
public:
    explicit InPlace(const proton::value& value) : proton::codec::decoder(value) {}
    [[nodiscard]] pn_data_t* raw() const { return pn_object(); }
};

std::string_view view_of(pn_bytes_t bytes) { return {bytes.start, bytes.size}; }

enum class Read { absent, text, unusual };

// The value at the cursor as text: a view into the message, or into `scratch` for numbers.
Read value_text(pn_data_t* data, std::string& scratch, std::string_view& text) {
    switch (pn_data_type(data)) {
        case PN_NULL: return Read::absent;
        case PN_STRING: text = view_of(pn_data_get_string(data)); return Read::text;
        case PN_SYMBOL: text = view_of(pn_data_get_symbol(data)); return Read::text;
        case PN_BINARY: text = view_of(pn_data_get_binary(data)); return Read::text;
        case PN_LONG: scratch = std::to_string(pn_data_get_long(data)); break;
        case PN_ULONG: scratch = std::to_string(pn_data_get_ulong(data)); break;
        case PN_INT: scratch = std::to_string(pn_data_get_int(data)); break;
        case PN_UINT: scratch = std::to_string(pn_data_get_uint(data)); break;
        case PN_TIMESTAMP: scratch = std::to_string(pn_data_get_timestamp(data)); break;
        default: return Read::unusual;  // proton-cpp's text form: see property()
    }
    text = scratch;
    return Read::text;
}

// Fills topic, messageId and generateTime from the encoded properties (the
// last of a repeated key wins, as in proton's map). False when one of them has
// a type only proton-cpp knows how to print; the record is then incomplete.
bool properties_in_place(const proton::message& message, MessageScratch& scratch, MessageRecord& record) {
    const InPlace cursor(message.properties().value());
    pn_data_t* data = cursor.raw();
    pn_data_rewind(data);
    if (!pn_data_next(data) || pn_data_type(data) != PN_MAP) return true;  // no properties
    const std::size_t entries = pn_data_get_map(data);
    pn_data_enter(data);
    bool usual = true;
    for (std::size_t i = 0; i + 1 < entries && pn_data_next(data); i += 2) {
        std::string_view key;
        const pn_type_t key_type = pn_data_type(data);
        if (key_type == PN_STRING) key = view_of(pn_data_get_string(data));
        if (key_type == PN_SYMBOL) key = view_of(pn_data_get_symbol(data));
        if (!pn_data_next(data)) break;
        std::optional<std::string_view>* target = nullptr;
        std::string* target_scratch = nullptr;
        if (key == "topic") {
            target = &record.topic, target_scratch = &scratch.topic;
        } else if (key == "messageId") {
            target = &record.message_id, target_scratch = &scratch.message_id;
        } else if (key == "generateTime") {
            target = &record.generate_time, target_scratch = &scratch.generate_time;
        } else {
            continue;
        }
        std::string_view text;
        switch (value_text(data, *target_scratch, text)) {
            case Read::absent: target->reset(); break;
            case Read::text: *target = text; break;
            case Read::unusual: usual = false; break;
        }
    }
    pn_data_rewind(data);
    return usual;
}

// A data section arrives as binary, an AMQP string section as a string;
// anything else (an amqp-value of another type) is written in proton's text form.
std::string_view body_bytes(const proton::value& body, std::string& scratch) {
    const InPlace cursor(body);
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

}  // namespace

// The loader's secret-file reader: one buffer sized once and wiped, where a
// growing std::string would leave unwiped copies of the token on the heap.
std::shared_ptr<const Secret> read_security_token(const std::string& path) {
    SecretRead read = read_secret_file(path, "the STS security token");
    if (!read.secret) throw CredentialError("security_token_file: " + read.problem);
    return std::move(read.secret);
}

Credentials AlibabaIotProfile::credentials(const GroupConfig& group, const std::string& client_id,
                                           std::int64_t now_wall_ms) const {
    SignRequest request;
    request.auth_mode = group.auth_mode;
    request.sign_method = group.sign_method;
    request.access_key_id = group.access_key_id;
    request.access_key_secret = group.access_key_secret.get();
    request.timestamp_ms = now_wall_ms;
    request.client_id = client_id;
    request.consumer_group_id = group.consumer_group_id;
    request.iot_instance_id = group.iot_instance_id;
    std::shared_ptr<const Secret> token;
    if (group.auth_mode == AuthMode::ststoken) {
        token = read_security_token(group.security_token_file);  // re-read: STS tokens expire and are rotated
        request.security_token = token.get();
    }
    return sign(request);
}

std::string AlibabaIotProfile::source_address(const GroupConfig& /*group*/) const {
    return {};  // the cloud ignores it; the consumer group comes from the user name
}

void AlibabaIotProfile::describe(const proton::message& message, MessageScratch& scratch, MessageRecord& record) const {
    record.topic.reset();
    record.message_id.reset();
    record.generate_time.reset();
    if (!properties_in_place(message, scratch, record)) {
        // Rare types go through proton-cpp, which throws on values it cannot
        // convert (a list or map where a scalar belongs). A message the cloud
        // would redeliver for ever must not stop the group: it is written
        // without the property proton could not read.
        const auto& props = message.properties();
        const auto read = [&props](const char* key, std::string& out) -> std::optional<std::string_view> {
            try {
                return property(props, key, out);
            } catch (const std::exception&) {
                return std::nullopt;
            }
        };
        record.topic = read("topic", scratch.topic);
        record.message_id = read("messageId", scratch.message_id);
        record.generate_time = read("generateTime", scratch.generate_time);
    }
    record.device = record.topic ? device_from_topic(*record.topic) : DeviceRef{};
    record.body = body_bytes(message.body(), scratch.body);
}

}  // namespace iot
