// What an operator should check when a connection fails, from the AMQP (or
// proton-local) error condition. The table of likely causes of PROTOCOL.md §7.
#pragma once

#include <string>
#include <string_view>

namespace iot {

enum class FailureKind { authentication, tls, unreachable, heartbeat, server_closed, refused, other };

struct Diagnosis {
    FailureKind kind = FailureKind::other;
    std::string_view hint;  // what to check, for the log line
};

class CloudProfile;

// The generic hint, unless `profile` has a more precise one for the kind.
[[nodiscard]] Diagnosis diagnose(std::string_view condition_name, std::string_view description,
                                 const CloudProfile* profile = nullptr);
[[nodiscard]] std::string_view to_string(FailureKind kind);

}  // namespace iot
