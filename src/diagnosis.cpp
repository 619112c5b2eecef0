#include "iot-amqpd/diagnosis.hpp"

namespace iot {
namespace {

bool contains(std::string_view text, std::string_view needle) { return text.find(needle) != std::string_view::npos; }

// The cloud's reason names the signed timestamp (stale, a replay, outside its
// window): the clock comes first, not the credentials.
bool about_timestamp(std::string_view description) {
    for (const std::string_view word : {"timestamp", "Timestamp", "skew", "replay", "clock", "time window"})
        if (contains(description, word)) return true;
    return false;
}

}  // namespace

Diagnosis diagnose(std::string_view name, std::string_view description) {
    const bool auth = name == "amqp:unauthorized-access" || contains(description, "Authentication failed");
    if (auth && about_timestamp(description))
        return {FailureKind::authentication,
                "the cloud refused the signature's timestamp: the system clock is probably off (the cloud accepts "
                "±15 min of its own time); check it with timedatectl (is NTP synchronised?), then the "
                "credentials"};
    if (auth)
        return {FailureKind::authentication,
                "check access_key_id and its secret, consumer_group_id, iot_instance_id (required for new public "
                "and Enterprise instances), that the RAM user has the iot:sub permission, and the clock "
                "(the signature carries a timestamp: timedatectl)"};
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
                "check the endpoint host and port (copy them from the console's instance development "
                "configuration), DNS, and that outbound TCP 5671 is allowed"};
    if (contains(description, "idle-timeout") || contains(description, "idle timeout"))
        return {FailureKind::heartbeat,
                "no frames within the heartbeat period: check the network path; heartbeat must be 30s..300s"};
    if (name == "amqp:connection:forced")
        return {FailureKind::server_closed,
                "the cloud closed the connection (deployment or load balancing, code 9602); this is normal"};
    if (name == "amqp:invalid-field" || name == "amqp:not-allowed" || name == "amqp:resource-limit-exceeded" ||
        name == "amqp:not-found" || name == "amqp:not-implemented")
        return {FailureKind::refused,
                "the cloud refused the connection: check the heartbeat (30s..300s), that the consumer group is "
                "subscribed, and the limits (64 clients per group, 100 connection attempts per minute)"};
    return {FailureKind::other, "see the condition; the daemon keeps retrying with backoff"};
}

std::string_view to_string(FailureKind kind) {
    switch (kind) {
        case FailureKind::authentication: return "authentication failed";
        case FailureKind::tls: return "TLS failure";
        case FailureKind::unreachable: return "endpoint unreachable";
        case FailureKind::heartbeat: return "heartbeat time-out";
        case FailureKind::server_closed: return "closed by the cloud";
        case FailureKind::refused: return "refused by the cloud";
        case FailureKind::other: return "connection failed";
    }
    return "connection failed";
}

}  // namespace iot
