// iot-amqpd-emulator: a local stand-in for Alibaba Cloud IoT Platform's AMQP
// server-side subscription endpoint, as strict as PROTOCOL.md §9 (TLS only, SASL
// PLAIN with signature check, idle-time-out bounds, one receiver per connection,
// link deadline, shared consumer-group queues with at-least-once redelivery).
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

struct EmulatorOptions {
    std::string listen = "127.0.0.1:0";  // host:port; port 0 picks a free one
    std::string cert_file;               // PEM server certificate (chain)
    std::string key_file;                // PEM private key
    std::shared_ptr<const Accounts> accounts;
    AuthPolicy auth;  // strict mode and skew window
    std::chrono::milliseconds ack_timeout{30000};
    std::chrono::milliseconds link_deadline{15000};  // Open -> receiver attached
    // Silence allowed after authentication until the Open. proton's idle timer runs
    // only in its AMQP layer, so a socket silent during TLS or SASL is not closed.
    std::chrono::milliseconds sasl_deadline{15000};
    std::chrono::milliseconds redelivery_delay{0};  // released / timed-out message waits this long
    std::uint32_t min_idle_timeout_ms = 30000;
    std::uint32_t max_idle_timeout_ms = 300000;
    std::size_t max_clients_per_group = 64;
    std::size_t max_attempts_per_minute = 100;  // per consumer group
    std::shared_ptr<EventLog> log;              // null: no log
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

    [[nodiscard]] StatsSnapshot stats() const;
    [[nodiscard]] std::vector<ClientInfo> clients() const;

private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace iot::emu
