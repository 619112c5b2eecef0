// An AMQP 1.0 message as the broker tests publish and expect it: the fields
// the daemon maps to journal fields (message-id, creation-time, subject,
// application properties, one data section), comparable with ==, and its
// conversion to and from proton::message.
//
// Plain values; use from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <variant>

namespace proton {
class message;
}

namespace iot::test {

// The application-property types the daemon has to render.
using AmqpPropertyValue = std::variant<std::string, std::int64_t, bool>;

struct AmqpTestMessage {
    std::string message_id;             // sent as an AMQP string
    std::int64_t creation_time_ms = 0;  // AMQP timestamp: milliseconds since the Unix epoch
    std::string subject;                // empty: not set
    std::map<std::string, AmqpPropertyValue> properties;
    std::string body;  // the bytes of one data section

    bool operator==(const AmqpTestMessage& other) const;
    bool operator!=(const AmqpTestMessage& other) const { return !(*this == other); }
};

// Durable, so the broker keeps it on disk like a cloud's messages.
[[nodiscard]] proton::message to_proton(const AmqpTestMessage& message);
// Throws std::runtime_error for a field of a type the tests never send.
[[nodiscard]] AmqpTestMessage from_proton(const proton::message& message);

// For gtest's failure messages.
std::ostream& operator<<(std::ostream& out, const AmqpTestMessage& message);

}  // namespace iot::test
