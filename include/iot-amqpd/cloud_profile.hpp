// Everything cloud-specific, behind one small interface (DESIGN.md §5): the
// credentials of each connection attempt, the link's source address, the
// heartbeat the cloud accepts, and where a message's id, topic and device
// come from. Alibaba Cloud IoT Platform is the only profile today; another
// cloud with the same AMQP push shape is a new profile, not a core change.
//
// Thread: profiles are immutable and shared by all group threads.
#pragma once

#include <proton/message.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include "iot-amqpd/config.hpp"
#include "iot-amqpd/message_record.hpp"
#include "iot-amqpd/signer.hpp"

namespace iot {

// Scratch space for the text forms of one message's properties and body.
struct MessageScratch {
    std::string topic;
    std::string message_id;
    std::string generate_time;
    std::string body;
};

// Raised when credentials cannot be built (e.g. the security token file is unreadable).
class CredentialError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class CloudProfile {
public:
    virtual ~CloudProfile() = default;

    // Fresh credentials for one connection attempt, signed at `now_wall_ms`.
    [[nodiscard]] virtual Credentials credentials(const GroupConfig& group, const std::string& client_id,
                                                  std::int64_t now_wall_ms) const = 0;
    [[nodiscard]] virtual std::string source_address(const GroupConfig& group) const = 0;
    // Fills `record` (except group, group_id, client_id) with views into `message` and `scratch`.
    virtual void describe(const proton::message& message, MessageScratch& scratch, MessageRecord& record) const = 0;
};

class AlibabaIotProfile final : public CloudProfile {
public:
    [[nodiscard]] Credentials credentials(const GroupConfig& group, const std::string& client_id,
                                          std::int64_t now_wall_ms) const override;
    [[nodiscard]] std::string source_address(const GroupConfig& group) const override;
    void describe(const proton::message& message, MessageScratch& scratch, MessageRecord& record) const override;
};

// Reads an STS security token file (trailing white space trimmed) with the
// loader's secret-file reader; throws CredentialError saying why not.
[[nodiscard]] std::shared_ptr<const Secret> read_security_token(const std::string& path);

}  // namespace iot
