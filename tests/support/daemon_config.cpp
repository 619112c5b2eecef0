#include "daemon_config.hpp"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace iot::test {

namespace {

std::string format_number(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", value);
    return text;
}

}  // namespace

std::string yaml_quote(const std::string& text) {
    std::string quoted = "\"";
    for (const char c : text) {
        if (c == '"' || c == '\\') {
            quoted += '\\';
            quoted += c;
        } else if (c == '\n') {
            quoted += "\\n";
        } else {
            quoted += c;
        }
    }
    return quoted + "\"";
}

GroupSpec& DaemonConfig::add_group(std::string name, std::string consumer_group_id, int connections) {
    GroupSpec group;
    group.name = std::move(name);
    group.consumer_group_id = std::move(consumer_group_id);
    group.connections = connections;
    groups.push_back(std::move(group));
    return groups.back();
}

bool DaemonConfig::remove_group(const std::string& name) {
    const auto found = std::find_if(groups.begin(), groups.end(), [&](const GroupSpec& g) { return g.name == name; });
    if (found == groups.end()) return false;
    groups.erase(found);
    return true;
}

GroupSpec* DaemonConfig::find_group(const std::string& name) {
    for (auto& group : groups) {
        if (group.name == name) return &group;
    }
    return nullptr;
}

std::string DaemonConfig::to_yaml() const {
    std::ostringstream yaml;
    // The Alibaba keys under defaults: serve only Alibaba groups; with none
    // they would be an error (a cloud's key no group uses).
    const bool aliyun = groups.empty() || std::any_of(groups.begin(), groups.end(), [](const GroupSpec& g) {
                            return g.cloud.empty() || g.cloud == "aliyun";
                        });
    yaml << "# written by the integration test harness\n"
         << "defaults:\n"
         << "  endpoint: " << yaml_quote(endpoint) << "\n";
    if (aliyun)
        yaml << "  access_key_id: " << yaml_quote(access_key_id) << "\n"
             << "  access_key_secret_file: " << yaml_quote(access_key_secret_file) << "\n";
    yaml << "  client_id: " << yaml_quote(client_id) << "\n"
         << "  heartbeat: " << heartbeat << "\n"
         << "  credit: " << credit << "\n"
         << "  reconnect:\n"
         << "    initial_delay: " << reconnect_initial_delay << "\n"
         << "    max_delay: " << reconnect_max_delay << "\n"
         << "    multiplier: " << format_number(reconnect_multiplier) << "\n"
         << "    jitter: " << format_number(reconnect_jitter) << "\n"
         << "  tls:\n"
         << "    ca_file: " << yaml_quote(ca_file) << "\n"
         << "    verify_hostname: " << (verify_hostname ? "true" : "false") << "\n";
    for (const auto& line : extra_default_lines) yaml << "  " << line << "\n";
    yaml << "consumer_groups:\n";
    if (groups.empty()) yaml << "  []\n";
    for (const auto& group : groups) {
        yaml << "  - name: " << yaml_quote(group.name) << "\n";
        if (!group.cloud.empty()) yaml << "    cloud: " << group.cloud << "\n";
        if (!group.consumer_group_id.empty())
            yaml << "    consumer_group_id: " << yaml_quote(group.consumer_group_id) << "\n";
        if (group.connections) yaml << "    connections: " << *group.connections << "\n";
        if (group.credit) yaml << "    credit: " << *group.credit << "\n";
        if (group.heartbeat) yaml << "    heartbeat: " << *group.heartbeat << "\n";
        if (group.client_id) yaml << "    client_id: " << yaml_quote(*group.client_id) << "\n";
        for (const auto& line : group.extra_lines) yaml << "    " << line << "\n";
    }
    yaml << "output:\n"
         << "  type: " << output_type << "\n"
         << "  syslog_identifier: " << yaml_quote(syslog_identifier) << "\n"
         << "log:\n"
         << "  level: " << log_level << "\n";
    return yaml.str();
}

}  // namespace iot::test
