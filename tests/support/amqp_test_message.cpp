#include "amqp_test_message.hpp"

#include <proton/binary.hpp>
#include <proton/codec/map.hpp>
#include <proton/message.hpp>
#include <proton/message_id.hpp>
#include <proton/scalar.hpp>
#include <proton/timestamp.hpp>
#include <proton/types.hpp>

#include <stdexcept>

namespace iot::test {

bool AmqpTestMessage::operator==(const AmqpTestMessage& other) const {
    return message_id == other.message_id && creation_time_ms == other.creation_time_ms && subject == other.subject &&
           properties == other.properties && body == other.body;
}

proton::message to_proton(const AmqpTestMessage& message) {
    proton::message m;
    m.id(proton::message_id(message.message_id));
    m.creation_time(proton::timestamp(message.creation_time_ms));
    if (!message.subject.empty()) m.subject(message.subject);
    for (const auto& [name, value] : message.properties) {
        std::visit([&, &name = name](const auto& v) { m.properties().put(name, proton::scalar(v)); }, value);
    }
    // binary + inferred: one data section, the way cloud SDKs send a payload.
    m.body(proton::binary(message.body.begin(), message.body.end()));
    m.inferred(true);
    m.durable(true);
    return m;
}

AmqpTestMessage from_proton(const proton::message& m) {
    AmqpTestMessage message;
    if (m.id().type() != proton::STRING) {
        throw std::runtime_error("message-id is not a string: " + proton::to_string(m.id()));
    }
    message.message_id = proton::get<std::string>(m.id());
    message.creation_time_ms = m.creation_time().milliseconds();
    message.subject = m.subject();
    std::map<std::string, proton::scalar> properties;
    if (!m.properties().empty()) proton::get(m.properties().value(), properties);
    for (const auto& [name, value] : properties) {
        switch (value.type()) {
            case proton::STRING: message.properties[name] = proton::get<std::string>(value); break;
            case proton::LONG: message.properties[name] = proton::get<std::int64_t>(value); break;
            case proton::BOOLEAN: message.properties[name] = proton::get<bool>(value); break;
            default: throw std::runtime_error("application property " + name + " has type " + type_name(value.type()));
        }
    }
    if (!m.inferred() || m.body().type() != proton::BINARY) {
        throw std::runtime_error("the body is not one data section: " + proton::to_string(m.body()));
    }
    const auto body = proton::get<proton::binary>(m.body());
    message.body.assign(body.begin(), body.end());
    return message;
}

std::ostream& operator<<(std::ostream& out, const AmqpTestMessage& message) {
    out << "{id=" << message.message_id << " created=" << message.creation_time_ms << " subject=" << message.subject
        << " properties={";
    for (const auto& [name, value] : message.properties) {
        out << name << '=';
        std::visit([&out](const auto& v) { out << std::boolalpha << v; }, value);
        out << ' ';
    }
    return out << "} body=" << message.body.size() << " bytes}";
}

}  // namespace iot::test
