// Device messages as the cloud forwards them (PROTOCOL.md §3.2, §5): a topic,
// application properties and a body, for every topic kind the data-format page
// lists, plus the odd shapes a robust client must survive (empty, string and
// amqp-value bodies, missing properties, numeric messageId, duplicates, big bodies).
// Plain values; a Publication is immutable and may be shared across threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "iotda_envelope.hpp"

namespace iot::emu {

enum class TopicKind {
    status_online,
    status_offline,
    property_post,
    event_post,
    property_batch,
    event_batch,
    downlink_reply,
    property_history,
    event_history,
    lifecycle,
    topo_lifecycle,
    list_found,
    ota_upgrade,
    ota_progress,
    ota_version,
    ota_job_status,
    deviceinfo_update,
    custom_text,
    custom_binary,
    cloud_gateway,
    garbage_topic,
};

[[nodiscard]] const std::vector<TopicKind>& all_topic_kinds();
[[nodiscard]] std::string_view to_string(TopicKind kind);
[[nodiscard]] std::optional<TopicKind> parse_topic_kind(std::string_view text);

enum class BodyEncoding { data, string, value, empty };  // data section | amqp-value string | amqp-value map | none
enum class PropsMode { full, none, long_id };            // long_id: messageId as an AMQP long

[[nodiscard]] std::optional<BodyEncoding> parse_body_encoding(std::string_view text);
[[nodiscard]] std::optional<PropsMode> parse_props_mode(std::string_view text);

inline constexpr const char* kProductKey = "a1TestProduct";
inline constexpr std::size_t kMaxBodySize = 10 * 1024 * 1024;

struct EmuMessage {
    TopicKind kind = TopicKind::property_post;
    std::string topic;
    std::string message_id;       // application property "messageId"
    std::int64_t numeric_id = 0;  // the same id as a long, for PropsMode::long_id
    std::int64_t generate_time_ms = 0;
    std::string body;  // raw bytes (not necessarily UTF-8)
    BodyEncoding encoding = BodyEncoding::data;
    PropsMode props = PropsMode::full;
    std::string product_key;  // what a correct parser should find; empty when none
    std::string device_name;
    std::vector<char> encoded;  // the AMQP message, when made ahead (premade); else empty
};

struct PublishSpec {
    std::string group;
    std::size_t count = 1;
    double rate = 0;         // messages per second; 0 = as fast as possible
    std::size_t size = 300;  // body size target: exact for text/binary kinds, minimum (padded) for JSON
    std::optional<TopicKind> kind = TopicKind::property_post;  // nullopt = mixed: cycle over every kind
    std::string id_prefix;                                     // message ids are id_prefix + n, n = 1..count
    std::size_t dup = 0;       // then publish ids 1..dup once more (same messageId and body)
    std::size_t devices = 10;  // device names cycle device-1..device-<devices>
    BodyEncoding encoding = BodyEncoding::data;
    PropsMode props = PropsMode::full;
    // Make and encode every message at publish time instead of as credit
    // allows (rate 0 only): the benchmarks' stream then costs the emulator only
    // its sending, as the ceiling loop's entries are made before its clock starts.
    bool premade = false;
    // Set: IoTDA JSON envelopes (iotda_envelope.hpp) for the queue keyed `group`
    // (iotda_queue_key()), as data sections without application properties;
    // kind, size, body and props do not apply.
    std::optional<IotdaSpec> iotda;
};

// The emulator keeps IoTDA queues beside the consumer groups under this key,
// which no consumer group id can take ('/' is not allowed in either name).
[[nodiscard]] std::string iotda_queue_key(std::string_view queue);
[[nodiscard]] bool is_iotda_queue_key(std::string_view key);
[[nodiscard]] std::string_view iotda_queue_of_key(std::string_view key);

// Empty when the spec is usable, else the reason.
[[nodiscard]] std::string validate(const PublishSpec& spec);

// One publish call: messages are made on demand, so a million-message backlog
// costs memory only for what is in flight.
class Publication {
public:
    explicit Publication(PublishSpec spec);  // spec must validate()

    [[nodiscard]] const PublishSpec& spec() const { return spec_; }
    [[nodiscard]] std::size_t total() const { return spec_.count + spec_.dup; }
    // index 0..total()-1: ids 1..count, then the duplicates 1..dup.
    [[nodiscard]] std::shared_ptr<const EmuMessage> make(std::size_t index, std::int64_t now_ms) const;
    [[nodiscard]] std::string message_id(std::size_t n) const { return spec_.id_prefix + std::to_string(n); }

private:
    PublishSpec spec_;
};

// The message number n (1-based) of a spec, built at `now_ms`; exposed for tests.
[[nodiscard]] EmuMessage make_message(const PublishSpec& spec, std::size_t n, std::int64_t now_ms);

}  // namespace iot::emu
