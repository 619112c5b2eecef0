#include "iot-amqpd/cloud_profile.hpp"

#include <proton/binary.hpp>
#include <proton/scalar.hpp>
#include <proton/types.hpp>
#include <proton/value.hpp>

#include <fstream>
#include <iterator>

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

// A data section arrives as binary, an AMQP string section as a string;
// anything else (an amqp-value of another type) is written in proton's text form.
std::string_view body_bytes(const proton::value& body, std::string& scratch) {
    switch (body.type()) {
        case proton::NULL_TYPE: scratch.clear(); break;
        case proton::BINARY: {
            const auto bin = proton::get<proton::binary>(body);
            scratch.assign(bin.begin(), bin.end());
            break;
        }
        case proton::STRING: scratch = proton::get<std::string>(body); break;
        default: scratch = proton::to_string(body); break;
    }
    return scratch;
}

}  // namespace

Secret read_security_token(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw CredentialError("cannot read security_token_file " + path);
    std::string token((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
    if (token.empty()) throw CredentialError("security_token_file " + path + " is empty");
    return Secret(std::move(token));
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
    Secret token;
    if (group.auth_mode == AuthMode::ststoken) {
        token = read_security_token(group.security_token_file);  // re-read: STS tokens expire and are rotated
        request.security_token = &token;
    }
    return sign(request);
}

std::string AlibabaIotProfile::source_address(const GroupConfig& /*group*/) const {
    return {};  // the cloud ignores it; the consumer group comes from the user name
}

void AlibabaIotProfile::describe(const proton::message& message, MessageScratch& scratch,
                                 MessageRecord& record) const {
    const auto& props = message.properties();
    record.topic = property(props, "topic", scratch.topic);
    record.message_id = property(props, "messageId", scratch.message_id);
    record.generate_time = property(props, "generateTime", scratch.generate_time);
    record.device = record.topic ? device_from_topic(*record.topic) : DeviceRef{};
    record.body = body_bytes(message.body(), scratch.body);
}

}  // namespace iot
