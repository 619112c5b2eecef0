// Builds the daemon's YAML config (DESIGN.md §4) for a test: defaults that
// suit a loopback emulator (short reconnect delays, the test CA) and a list
// of consumer groups that tests add to, change and remove before a reload.
//
// Plain value type, no thread affinity.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace iot::test {

struct GroupSpec {
    std::string name;
    std::string consumer_group_id;  // aliyun only; empty: not written
    std::string cloud;              // empty: aliyun (the default, not written)
    std::optional<int> connections;
    std::optional<int> credit;
    std::optional<std::string> heartbeat;
    std::optional<std::string> client_id;
    std::vector<std::string> extra_lines;  // raw "key: value" lines inside this group's mapping
};

struct DaemonConfig {
    // defaults: (every group inherits these; the Alibaba keys only while an Alibaba group exists)
    std::string endpoint;  // amqps://localhost:PORT
    std::string access_key_id;
    std::string access_key_secret_file;
    std::string ca_file;
    bool verify_hostname = true;
    std::string client_id = "%H-%g";
    std::string heartbeat = "30s";  // the minimum the cloud accepts
    int credit = 100;
    std::string reconnect_initial_delay = "100ms";
    std::string reconnect_max_delay = "1s";
    double reconnect_multiplier = 2.0;
    double reconnect_jitter = 0.2;
    std::vector<std::string> extra_default_lines;  // raw "key: value" lines under defaults:

    std::vector<GroupSpec> groups;

    // output: and log:
    std::string output_type = "journald";
    std::string syslog_identifier;
    std::string log_level = "info";

    GroupSpec& add_group(std::string name, std::string consumer_group_id, int connections = 1);
    // Returns false when no group has that name.
    bool remove_group(const std::string& name);
    [[nodiscard]] GroupSpec* find_group(const std::string& name);

    [[nodiscard]] std::string to_yaml() const;
};

// A YAML double-quoted scalar.
[[nodiscard]] std::string yaml_quote(const std::string& text);

}  // namespace iot::test
