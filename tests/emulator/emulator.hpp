// iot-amqpd-emulator: a local stand-in for Alibaba Cloud IoT Platform's AMQP
// server-side subscription endpoint, as strict as PROTOCOL.md §9 (TLS only, SASL
// PLAIN with signature check, idle-time-out bounds, one receiver per connection,
// link deadline, shared consumer-group queues with at-least-once redelivery).
// Also the cloud's limits: a socket not authenticated within 15 s of the accept
// is closed (handshake_deadline); pushes are throttled to ~1000 msg/s per
// connection and redeliveries of the backlog to ~200 msg/s per group (push_rate,
// backlog_rate: off here, on with the program's --strict). Test hooks stall the
// whole emulator, or only the pushes of one group or client id.
//
// The same listener also speaks Huawei Cloud IoTDA's dialect: a SASL PLAIN user
// name starting "accessKey=" is an IoTDA login (iotda_authenticator.hpp), its
// Open must name the vhost "default", and its receiver links (up to 10) name
// the IoTDA queue they read; a queue is a GroupQueue like a consumer group.
//
// Threading: one proton container thread owns every proton object and all queue
// state. The public methods are thread-safe: they post work to that thread and
// wait for it (bounded), or read counters under a mutex.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "accounts.hpp"
#include "authenticator.hpp"
#include "event_log.hpp"
#include "message_factory.hpp"
#include "stats.hpp"

namespace iot::emu {

// The cloud's documented values (PROTOCOL.md §6 limits).
inline constexpr std::chrono::milliseconds kCloudHandshakeDeadline{15000};
inline constexpr double kCloudPushRate = 1000;    // msg/s per connection (real-time push)
inline constexpr double kCloudBacklogRate = 200;  // msg/s per consumer group (backlog re-push)

// The IoTDA dialect's documented limits (huawei-iotda.md §1, §2, §6); the idle
// range is not documented: what every sample uses fits the default.
struct IotdaLimits {
    std::chrono::milliseconds skew{5 * 60 * 1000};  // |now - user-name timestamp| allowed
    std::size_t max_connections_per_key = 32;       // open connections per access key
    std::size_t max_links_per_connection = 10;      // receiver links
    std::uint32_t min_idle_timeout_ms = 1000;       // the client's advertised idle-time-out
    std::uint32_t max_idle_timeout_ms = 600000;
    // Huawei documents none: a sent, unsettled message waits for the link's
    // loss. Alibaba's 30 s by default, so a lost disposition still comes back.
    std::chrono::milliseconds ack_timeout{30000};
};

struct EmulatorOptions {
    std::string listen = "127.0.0.1:0";  // host:port; port 0 picks a free one
    std::string cert_file;               // PEM server certificate (chain)
    std::string key_file;                // PEM private key
    std::shared_ptr<const Accounts> accounts;
    AuthPolicy auth;  // strict mode and skew window
    std::chrono::milliseconds ack_timeout{30000};
    std::chrono::milliseconds link_deadline{15000};  // Open -> receiver attached
    // TCP accept -> SASL succeeded: a socket silent (or stuck) during TLS or SASL is
    // closed after this, as the cloud does after 15 s (PROTOCOL.md §9.1 item 3).
    std::chrono::milliseconds handshake_deadline{kCloudHandshakeDeadline};
    // Silence allowed after authentication until the Open.
    std::chrono::milliseconds sasl_deadline{15000};
    // The cloud's push limits (PROTOCOL.md §9.5 items 31-32), in messages per
    // second; 0 = unlimited. Off here (benchmarks, most tests); the program turns
    // them on with --strict at kCloudPushRate and kCloudBacklogRate.
    double push_rate = 0;                           // per connection, every transfer
    double backlog_rate = 0;                        // per group, redeliveries only
    std::chrono::milliseconds redelivery_delay{0};  // released / timed-out message waits this long
    std::uint32_t min_idle_timeout_ms = 30000;
    std::uint32_t max_idle_timeout_ms = 300000;
    std::size_t max_clients_per_group = 64;
    std::size_t max_attempts_per_minute = 100;  // per consumer group
    std::shared_ptr<EventLog> log;              // null: no log
    IotdaLimits iotda;                          // link_deadline and handshake_deadline apply to IoTDA too
};

struct PublishResult {
    std::string group;
    std::string id_prefix;
    std::size_t count = 0;
    std::size_t dup = 0;
    std::string first_id;
    std::string last_id;
    // steady_clock (CLOCK_MONOTONIC) when the messages became sendable: a
    // client's clock for the run starts here, after any premade messages were made.
    std::int64_t released_ns = 0;

    [[nodiscard]] std::string id(std::size_t n) const { return id_prefix + std::to_string(n); }
};

class Emulator {
public:
    explicit Emulator(EmulatorOptions options);
    ~Emulator();  // stops
    Emulator(const Emulator&) = delete;
    Emulator& operator=(const Emulator&) = delete;

    // Starts the container thread and listens. Returns the bound port; throws
    // std::runtime_error when the listener or the certificate fails.
    std::uint16_t start();
    void stop();  // idempotent; ends a stall early
    [[nodiscard]] std::uint16_t port() const;

    // Throws std::invalid_argument for a bad spec or unknown group. An empty
    // id_prefix is replaced by a unique "p<N>-" (or nothing for props=long_id).
    PublishResult publish(PublishSpec spec);
    // `group` may also be an IoTDA queue as iotda_queue_key(name): then the
    // connections with a link on that queue.
    // Closes the TCP connections without any AMQP close frame. "" = all groups.
    std::size_t drop_connections(const std::string& group = "");
    // Closes with an AMQP close frame carrying the condition (the cloud's 9602).
    std::size_t close_connections(const std::string& group, const std::string& condition,
                                  const std::string& description);
    // Fails every SASL attempt for this long (counted as auth failures).
    void refuse_auth(std::chrono::milliseconds duration);
    // Freezes the container thread (no reads, writes, heartbeats) for this long;
    // returns once the stall has begun. Commands that need the thread wait for it.
    void stall(std::chrono::milliseconds duration);
    // Stops pushing to one consumer group's connections, or to the connections of
    // one client id, for this long; everything else (other groups and
    // connections, heartbeats, acknowledgements) goes on. Exactly one of group
    // and client_id is non-empty. Returns the connections affected now (a client
    // id that connects during the stall is stalled too). Throws
    // std::invalid_argument for an unknown group.
    std::size_t stall_pushes(const std::string& group, const std::string& client_id,
                             std::chrono::milliseconds duration);

    [[nodiscard]] StatsSnapshot stats() const;
    [[nodiscard]] std::vector<ClientInfo> clients() const;

private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace iot::emu
