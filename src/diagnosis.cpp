#include "iot-amqpd/diagnosis.hpp"

#include "iot-amqpd/cloud_profile.hpp"

namespace iot {
namespace {

bool contains(std::string_view text, std::string_view needle) { return text.find(needle) != std::string_view::npos; }

Diagnosis generic(std::string_view name, std::string_view description) {
    if (name == "amqp:unauthorized-access" || contains(description, "Authentication failed"))
        return {FailureKind::authentication,
                "check the credentials (user name and password, or the access key and its secret) and the system "
                "clock (timedatectl)"};
    // A peer that vanished mid-stream shows up as an SSL read error; it is a lost connection, not a TLS problem.
    if (contains(description, "unexpected eof") || contains(description, "reset by peer"))
        return {FailureKind::other, "the connection was lost; the daemon reconnects with backoff"};
    if (contains(description, "SSL") || contains(description, "certificate") || contains(description, "TLS"))
        return {FailureKind::tls,
                "check the endpoint host name, tls.ca_file (empty = system trust store) and the system clock"};
    if (name == "proton:io" || contains(description, "connection refused") ||
        contains(description, "Name or service") || contains(description, "No route") ||
        contains(description, "unreachable") || contains(description, "resolve"))
        return {FailureKind::unreachable,
                "check the endpoint host and port, DNS, and that outbound TCP to that port is allowed"};
    if (contains(description, "idle-timeout") || contains(description, "idle timeout"))
        return {FailureKind::heartbeat, "no frames within the heartbeat period: check the network path and heartbeat"};
    if (name == "amqp:connection:forced")
        return {FailureKind::server_closed, "the peer closed the connection (amqp:connection:forced); reconnecting"};
    if (name == "amqp:invalid-field" || name == "amqp:not-allowed" || name == "amqp:resource-limit-exceeded" ||
        name == "amqp:not-found" || name == "amqp:not-implemented" || name == "amqp:precondition-failed")
        return {FailureKind::refused,
                "the peer refused the connection or the link: check the source address or queue, the user's "
                "permissions and the peer's limits"};
    return {FailureKind::other, "see the condition; the daemon keeps retrying with backoff"};
}

}  // namespace

Diagnosis diagnose(std::string_view name, std::string_view description, const CloudProfile* profile) {
    Diagnosis diagnosis = generic(name, description);
    if (profile != nullptr)
        if (const std::string_view hint = profile->failure_hint(diagnosis.kind, name, description); !hint.empty())
            diagnosis.hint = hint;
    return diagnosis;
}

std::string_view to_string(FailureKind kind) {
    switch (kind) {
        case FailureKind::authentication: return "authentication failed";
        case FailureKind::tls: return "TLS failure";
        case FailureKind::unreachable: return "endpoint unreachable";
        case FailureKind::heartbeat: return "heartbeat time-out";
        case FailureKind::server_closed: return "closed by the peer";
        case FailureKind::refused: return "refused by the peer";
        case FailureKind::other: return "connection failed";
    }
    return "connection failed";
}

}  // namespace iot
