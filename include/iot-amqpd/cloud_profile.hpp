// The seam between the cloud-neutral daemon and one cloud (ARCHITECTURE.md
// "Extending"). A group names its cloud (`cloud:`, DESIGN.md §4.1); the
// profile of that name owns the group's cloud keys (reading, checking,
// merging over defaults:), and builds the group's CloudSettings, which owns
// what differs per cloud at run time: the credentials of each connection
// attempt, the Open hostname, the link's source address, failure hints, and
// how a message becomes a record. A profile is one file in src/clouds/ named
// <name>_profile.cpp that defines `const CloudProfile& <name>_profile()`; the
// build lists those files, so adding a cloud changes no other source file.
//
// Thread: profiles and settings are immutable and shared by all group threads.
#pragma once

#include <proton/message.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "iot-amqpd/config_reader.hpp"
#include "iot-amqpd/diagnosis.hpp"
#include "iot-amqpd/duration.hpp"
#include "iot-amqpd/message_record.hpp"
#include "iot-amqpd/signer.hpp"

namespace iot {

// Scratch space for one message's text forms; reused, so a steady stream allocates nothing.
struct MessageScratch {
    std::string topic;
    std::string message_id;
    std::string generate_time;
    std::string body;
    std::vector<std::string> texts;   // values and names a profile had to build (numbers, field names)
    std::vector<RecordField> fields;  // the profile's own journal fields, pointing into the message or `texts`
};

// Raised when credentials cannot be built (e.g. the security token file is unreadable).
class CredentialError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class CloudProfile;

// One group's cloud settings, built by its profile from the config.
class CloudSettings {
public:
    virtual ~CloudSettings() = default;

    [[nodiscard]] virtual const CloudProfile& profile() const = 0;
    // Fresh credentials for one connection attempt at `now_wall_ms`.
    [[nodiscard]] virtual Credentials credentials(const std::string& client_id, std::int64_t now_wall_ms) const = 0;
    // The AMQP Open hostname; TLS always verifies (and names in SNI) the endpoint's host.
    [[nodiscard]] virtual std::string open_hostname(const std::string& endpoint_host) const { return endpoint_host; }
    [[nodiscard]] virtual std::string source_address() const = 0;
    // IOT_CONSUMER_GROUP_ID: the cloud's name for what this group reads; empty: not written.
    [[nodiscard]] virtual std::string_view group_id() const { return {}; }
    // What a reload compares besides the keys as written: the digest of the
    // content of files the settings read at every attempt (Alibaba: the STS token).
    [[nodiscard]] virtual std::string reload_digest() const { return {}; }
    // Who the daemon logs in as, for log lines: never a secret, an ID masked where it is half a credential.
    [[nodiscard]] virtual std::string identity() const = 0;
    // Fills `record`'s topic, message_id, generate_time, fields and body with
    // views into `message` and `scratch`; never throws for a message's content.
    virtual void describe(const proton::message& message, MessageScratch& scratch, MessageRecord& record) const = 0;
};

// What a profile allows that the shared keys depend on.
struct ProfileLimits {
    Millis min_heartbeat{1000};
    Millis max_heartbeat{3600000};
    int attempts_per_minute = 0;  // connection attempts per group the cloud allows; 0: no limit
    bool tls_required = true;     // false: amqp:// is allowed with tls: { insecure_plaintext: true }
};

// One map's keys of one profile (defaults: or a group), as read, before merging.
class ProfileLayer {
public:
    virtual ~ProfileLayer() = default;
};

class CloudProfile {
public:
    virtual ~CloudProfile() = default;

    [[nodiscard]] virtual std::string_view name() const = 0;   // the `cloud:` value
    [[nodiscard]] virtual std::string_view title() const = 0;  // "Alibaba Cloud IoT Platform"
    [[nodiscard]] virtual const cfg::KeySet& keys() const = 0;
    [[nodiscard]] virtual const cfg::KeySet& group_only_keys() const;  // not allowed under defaults:
    [[nodiscard]] virtual ProfileLimits limits() const = 0;
    // What to write for a missing endpoint, e.g. where the console shows it.
    [[nodiscard]] virtual std::string endpoint_advice() const = 0;

    [[nodiscard]] virtual std::unique_ptr<ProfileLayer> read(const cfg::MapReader& map,
                                                             cfg::ReadContext& ctx) const = 0;
    // Merges `own` over `inherited` (defaults:), reports what is missing or
    // wrong across keys, and returns the settings; null when errors were recorded.
    [[nodiscard]] virtual std::shared_ptr<const CloudSettings> build(const ProfileLayer& own,
                                                                     const ProfileLayer& inherited,
                                                                     const cfg::GroupFrame& group,
                                                                     cfg::ReadContext& ctx) const = 0;
    // A hint for a connection failure more precise than the generic one; empty: use that.
    [[nodiscard]] virtual std::string_view failure_hint(FailureKind kind, std::string_view condition,
                                                        std::string_view description) const;
};

// Every profile the build has (src/clouds/*_profile.cpp), and one by its `cloud:` name.
[[nodiscard]] const std::vector<const CloudProfile*>& cloud_profiles();
[[nodiscard]] const CloudProfile* find_cloud_profile(std::string_view name);
// The profile used when a group names none.
inline constexpr std::string_view kDefaultCloud = "aliyun";

}  // namespace iot
