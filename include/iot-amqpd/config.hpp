// The daemon's configuration (DESIGN.md §4): an immutable value built by
// load_config(), the one loader used by start-up, --check-config and reload.
#pragma once

#include <cstddef>
#include <cstdint>
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
};

// Where the AccessKey secret came from, so the reload diff can notice a changed
// file and errors can say which source was wrong without showing the value.
enum class SecretSource { inline_value, file, credential };

struct GroupConfig {
    // identity
    std::string name;               // [A-Za-z0-9_.-]{1,64}
    std::string consumer_group_id;  // the cloud's ID

    // endpoint
    std::string endpoint;  // as written: amqps://host[:port]
    std::string host;      // without brackets, also for an IPv6 literal ("::1")
    std::uint16_t port = 5671;

    // authentication
    std::string access_key_id;
    SecretSource secret_source = SecretSource::inline_value;
    std::string secret_path;                          // file path or credential name; empty for inline
    std::shared_ptr<const Secret> access_key_secret;  // read at load time
    AuthMode auth_mode = AuthMode::aksign;
    std::string security_token_file;  // ststoken only; re-read before every connection attempt
    // What a reload compares (content_digest(), never the text): the secret's,
    // and the STS token file's content when the config was loaded ("" when
    // it could not be read then; it is read again at every attempt anyway).
    std::string secret_digest;
    std::string security_token_digest;
    SignMethod sign_method = SignMethod::hmacsha256;
    std::string iot_instance_id;

    // connections
    std::string client_id_pattern = "%H-%g";
    std::vector<std::string> client_ids;  // expanded, one per connection ("-N" appended when connections > 1)
    int connections = 1;                  // 1..64
    Millis heartbeat{60000};              // what the cloud sees: 30s..300s
    int credit = 100;                     // 1..10000
    ReconnectPolicy reconnect;
    TlsSettings tls;
    std::size_t dedup_window = 10000;  // 0 = off

    // True when every setting equals `other`'s (the secret and the STS token compared by digest):
    // a running group can then keep its connections across a reload; false
    // means it must be restarted to apply `other`.
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

// A secret file (the AccessKey secret, an STS token) read into a buffer sized
// once, so no reallocation leaves an unwiped copy of the secret on the heap;
// trailing white space trimmed. `problem` says why not, naming `holds` (what
// the file must hold) when it is empty.
struct SecretRead {
    std::shared_ptr<const Secret> secret;
    std::string problem;
};
[[nodiscard]] SecretRead read_secret_file(const std::string& path, std::string_view holds = "the AccessKey secret");

[[nodiscard]] std::string_view to_string(LogLevel level);
// The names used in the config and by --log-level (case-insensitive): trace, debug, info, warn, error.
[[nodiscard]] std::optional<LogLevel> parse_log_level(std::string_view text);

// Every key the loader accepts, as "section.key" paths ("defaults.heartbeat" stands for
// the per-group keys, which consumer_groups[] accepts too), for the documentation tests.
[[nodiscard]] std::vector<std::string> accepted_config_keys();

}  // namespace iot
