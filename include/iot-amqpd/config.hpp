// The daemon's configuration (DESIGN.md §4): an immutable value built by
// load_config(), the one loader used by start-up, --check-config and reload.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "iot-amqpd/duration.hpp"
#include "iot-amqpd/secret.hpp"
#include "iot-amqpd/signer.hpp"

namespace iot {

enum class LogLevel { trace, debug, info, warn, error };
enum class OutputType { journald, stdout_jsonl };

struct ReconnectPolicy {
    Millis initial_delay{1000};
    Millis max_delay{60000};
    double multiplier = 2.0;
    double jitter = 0.2;  // 0..1: each delay is scaled by a random factor in [1-jitter, 1+jitter]
};

struct TlsSettings {
    std::string ca_file;  // empty: the system trust store
    bool verify_hostname = true;
    bool insecure_plaintext = false;  // amqp:// allowed (only for profiles that do not require TLS)
};

// Where a secret came from, so errors can say which source was wrong without showing the value.
enum class SecretSource { inline_value, file, credential };

class CloudSettings;

inline constexpr std::int64_t kDefaultMemoryBudget = 8LL << 20;
inline constexpr std::int64_t kMinMemoryBudget = 64LL << 10;
inline constexpr std::int64_t kMaxMemoryBudget = 1LL << 30;

struct GroupConfig {
    std::string name;                               // [A-Za-z0-9_.-]{1,64}
    std::string cloud = "aliyun";                   // the profile's name (DESIGN.md §4.1)
    std::shared_ptr<const CloudSettings> settings;  // the profile's part, built by the profile

    // endpoint
    std::string endpoint;  // as written: amqps://host[:port]
    std::string host;      // without brackets, also for an IPv6 literal ("::1")
    std::uint16_t port = 5671;
    bool plaintext = false;  // amqp:// (tls.insecure_plaintext, for profiles that allow it)

    // connections
    std::string client_id_pattern = "%H-%g";
    std::vector<std::string> client_ids;  // expanded, one per connection ("-N" appended when connections > 1)
    int connections = 1;                  // 1..64
    Millis heartbeat{60000};              // what the peer sees; the profile sets the bounds
    // The most messages one connection has in flight: granted as credit and
    // not yet arrived, or arrived and not yet accepted. An upper bound: the
    // window adapts below it (credit_window.hpp).
    int credit = 500;  // 1..10000
    // What a group's messages in flight may take in memory, shared by its
    // connections; with the average message size it bounds the window too.
    std::int64_t memory_budget = kDefaultMemoryBudget;
    ReconnectPolicy reconnect;
    TlsSettings tls;
    std::size_t dedup_window = 10000;  // 0 = off

    // Every key that applies to the group as written (defaults: merged in,
    // nested keys as "reconnect.max_delay"), with the content digest of each
    // secret or file a key names, and never a secret's text. What a reload
    // compares: derived from the file, so no key can be forgotten.
    std::map<std::string, std::string> written;

    // True when `other` was written the same (secrets and the files keys name
    // compared by digest) and expands to the same client ids: a running group
    // can then keep its connections across a reload; false means it must be
    // restarted to apply `other`.
    [[nodiscard]] bool same_settings(const GroupConfig& other) const;
};

struct OutputConfig {
    OutputType type = OutputType::journald;
    std::string syslog_identifier = "iot-amqpd-msg";
};

struct MetricsConfig {
    std::string textfile;  // empty: no metrics file
    Millis interval{15000};
};

struct Config {
    std::string path;
    std::vector<GroupConfig> groups;
    OutputConfig output;
    MetricsConfig metrics;
    LogLevel log_level = LogLevel::info;

    [[nodiscard]] const GroupConfig* find_group(const std::string& name) const;
};

// One problem found in a config file, printed as "file:line:col: key.path: reason".
// line and column are 1-based; 0 when the problem has no position (unreadable file).
struct ConfigError {
    std::string file;
    int line = 0;
    int column = 0;
    std::string key_path;
    std::string reason;

    [[nodiscard]] std::string to_string() const;
};

// What the loader may look at outside the file, injectable for tests.
struct LoadEnvironment {
    std::string host_name;              // for %H
    std::string credentials_directory;  // $CREDENTIALS_DIRECTORY, empty when unset
    static LoadEnvironment from_process();
};

struct LoadResult {
    std::shared_ptr<const Config> config;  // null when errors is not empty
    std::vector<ConfigError> errors;       // every error found, in file order
    std::vector<std::string> warnings;     // e.g. an inline secret in a world-readable file
    [[nodiscard]] bool ok() const { return config != nullptr && errors.empty(); }
};

[[nodiscard]] LoadResult load_config(const std::string& path, const LoadEnvironment& env);

// A secret file (an AccessKey secret, an access code, a password, an STS token) read into a buffer sized
// once, so no reallocation leaves an unwiped copy of the secret on the heap;
// trailing white space trimmed. `problem` says why not, naming `holds` (what
// the file must hold) when it is empty.
struct SecretRead {
    std::shared_ptr<const Secret> secret;
    std::string problem;
};
[[nodiscard]] SecretRead read_secret_file(const std::string& path, std::string_view holds);

[[nodiscard]] std::string_view to_string(LogLevel level);
// The names used in the config and by --log-level (case-insensitive): trace, debug, info, warn, error.
[[nodiscard]] std::optional<LogLevel> parse_log_level(std::string_view text);

// Every key the loader accepts, as "section.key" paths ("defaults.heartbeat" stands for
// the per-group keys, which consumer_groups[] accepts too; a profile's keys are
// "defaults.<key>" too, and profile_keys() says whose), for the documentation tests.
[[nodiscard]] std::vector<std::string> accepted_config_keys();

}  // namespace iot
