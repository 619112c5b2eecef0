// Prometheus text-format metrics for node_exporter's textfile collector,
// written atomically (temporary file + rename).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace iot {

struct GroupMetrics {
    std::string group;
    std::uint64_t received = 0;
    std::uint64_t written = 0;
    std::uint64_t duplicates = 0;
    std::uint64_t write_failures = 0;
    std::uint64_t reconnects = 0;
    std::uint64_t auth_failures = 0;
    std::uint64_t journal_dropped = 0;     // entries journald read but did not store (written again)
    std::uint64_t journal_queue_full = 0;  // writes that found journald's socket queue full
    bool output_holding = false;           // journald stores nothing: the group holds
    std::uint64_t dedup_ids = 0;           // message ids the dedup window remembers
    std::int64_t credit_window = 0;        // the connections' credit windows, summed
    int connected = 0;
    int connections = 0;
    double seconds_since_last_message = -1;  // -1: no message yet
};

struct ProcessMetrics {
    double uptime_seconds = 0;
    std::uint64_t reloads_succeeded = 0;
    std::uint64_t reloads_failed = 0;
};

[[nodiscard]] std::string render_metrics(const std::vector<GroupMetrics>& groups, const ProcessMetrics& process);

// Writes `content` to `path` through a temporary file in the same directory and
// rename(2), so a reader never sees half a file. Returns 0 or an errno value.
[[nodiscard]] int write_file_atomically(const std::string& path, const std::string& content);

}  // namespace iot
