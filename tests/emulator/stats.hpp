// What the emulator reports about itself (the console's consumer-group status,
// PROTOCOL.md §9.6): per group counts, gauges and per client id facts.
// Plain values: a snapshot copied out under the emulator's stats mutex.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "group_queue.hpp"
#include "json.hpp"

namespace iot::emu {

struct ClientStats {
    std::int64_t last_timestamp = 0;      // newest signed timestamp this client id used (any group)
    std::uint64_t attempts = 0;           // SASL attempts naming this group
    std::uint64_t connections_total = 0;  // admitted connections to this group
    std::uint64_t stale_timestamps = 0;   // attempts whose timestamp was not newer than the previous one
};

struct GroupStats {
    QueueCounters queue;
    std::uint64_t connections = 0;  // open (admitted) now
    std::uint64_t connections_total = 0;
    std::uint64_t links = 0;  // receiver links attached now
    std::uint64_t auth_ok = 0;
    std::uint64_t auth_failures = 0;
    std::uint64_t refused_attempts = 0;  // authenticated but refused: rate limit, client cap, heartbeat
    std::uint64_t stale_timestamps = 0;
    // Closes the client sent with its link still attached. A broker may drop
    // dispositions that arrive just before such a Close (RabbitMQ does, and
    // redelivers those messages): a client detaches, waits for the detach
    // back, then closes.
    std::uint64_t closes_with_link_attached = 0;
    // The most credit one of the group's links held unused at once: what a
    // client's credit window allowed the emulator to send ahead.
    std::uint64_t max_link_credit = 0;
    std::map<int, std::uint64_t> codes;  // log code -> count
    std::map<std::string, ClientStats> clients;
};

// One IoTDA access key's logins (its connections may read several queues).
struct AccessKeyStats {
    std::uint64_t attempts = 0;  // SASL attempts naming this access key
    std::uint64_t auth_ok = 0;
    std::uint64_t auth_failures = 0;
    std::uint64_t refused_attempts = 0;  // authenticated, then refused at Open: vhost, idle, connection cap
    std::uint64_t connections = 0;       // open (admitted) now
    std::uint64_t connections_total = 0;
    std::uint64_t reused_timestamps = 0;  // attempts whose timestamp was not newer than this key's previous one
    std::int64_t last_timestamp = 0;      // newest timestamp seen
    // Every attempt's user name, oldest first (the last kMaxUserNames), so a
    // test can check each reconnect built a fresh one. No secret is in them.
    std::vector<std::string> user_names;
    static constexpr std::size_t kMaxUserNames = 1000;
};

struct ClientInfo {
    std::uint64_t id = 0;
    std::string group;      // empty for an IoTDA connection
    std::string client_id;  // IoTDA: the access key
    std::string remote;     // ip:port
    std::int64_t online_since_ms = 0;
    bool link = false;
};

struct StatsSnapshot {
    std::map<std::string, GroupStats> groups;
    std::uint64_t auth_failures_unparsed = 0;  // user names naming no consumer group
    std::uint64_t unauthenticated_opens = 0;   // AMQP without SASL, refused at Open
    // IoTDA: per queue (as groups; connections and links count attached
    // receiver links) and per access key.
    std::map<std::string, GroupStats> queues;
    std::map<std::string, AccessKeyStats> access_keys;
    std::uint64_t iotda_auth_failures_unparsed = 0;  // "accessKey=" user names naming no access key

    [[nodiscard]] Json to_json() const;
};

[[nodiscard]] Json to_json(const std::vector<ClientInfo>& clients);

}  // namespace iot::emu
