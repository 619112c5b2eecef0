// What a reload (DESIGN.md §7) has to do: the per-group plan and the settings
// that only a restart can change.
#pragma once

#include <string>
#include <vector>

#include "iot-amqpd/config.hpp"

namespace iot {

struct ConfigDiff {
    // Group names; added/changed/unchanged in the new file's order, removed in the old one's.
    std::vector<std::string> added;      // start
    std::vector<std::string> removed;    // stop
    std::vector<std::string> changed;    // stop gracefully, start with the new settings
    std::vector<std::string> unchanged;  // keep running, no reconnect
    // One operator-facing warning per setting that reload cannot apply; the
    // running value stays in use until the next restart.
    std::vector<std::string> restart_required;
    bool log_level_changed = false;  // applied by reload
    bool metrics_changed = false;    // applied by reload

    [[nodiscard]] bool groups_unchanged() const { return added.empty() && removed.empty() && changed.empty(); }
};

[[nodiscard]] ConfigDiff diff_configs(const Config& running, const Config& next);

// `next` with the restart-only settings (output.*) taken from `running`: the
// config a reload actually installs, so nothing is half-applied.
[[nodiscard]] Config keep_restart_only_settings(const Config& running, Config next);

}  // namespace iot
