#include "iot-amqpd/config_diff.hpp"

namespace iot {
namespace {

std::string_view to_string(OutputType type) { return type == OutputType::journald ? "journald" : "stdout"; }

std::string restart_warning(std::string_view key, std::string_view old_value, std::string_view new_value) {
    std::string text(key);
    text += " changed from \"";
    text += old_value;
    text += "\" to \"";
    text += new_value;
    text += "\", which reload cannot apply: the daemon keeps using \"";
    text += old_value;
    text += "\" until it is restarted (systemctl restart iot-amqpd)";
    return text;
}

std::vector<std::string> restart_only_changes(const OutputConfig& running, const OutputConfig& next) {
    std::vector<std::string> warnings;
    if (running.type != next.type)
        warnings.push_back(restart_warning("output.type", to_string(running.type), to_string(next.type)));
    if (running.syslog_identifier != next.syslog_identifier)
        warnings.push_back(
            restart_warning("output.syslog_identifier", running.syslog_identifier, next.syslog_identifier));
    return warnings;
}

}  // namespace

ConfigDiff diff_configs(const Config& running, const Config& next) {
    ConfigDiff diff;
    for (const GroupConfig& group : next.groups) {
        const GroupConfig* old = running.find_group(group.name);
        if (old == nullptr)
            diff.added.push_back(group.name);
        else if (old->same_settings(group))
            diff.unchanged.push_back(group.name);
        else
            diff.changed.push_back(group.name);
    }
    for (const GroupConfig& group : running.groups)
        if (next.find_group(group.name) == nullptr) diff.removed.push_back(group.name);

    diff.restart_required = restart_only_changes(running.output, next.output);
    diff.log_level_changed = running.log_level != next.log_level;
    diff.metrics_changed =
        running.metrics.textfile != next.metrics.textfile || running.metrics.interval != next.metrics.interval;
    return diff;
}

Config keep_restart_only_settings(const Config& running, Config next) {
    next.output = running.output;
    return next;
}

}  // namespace iot
