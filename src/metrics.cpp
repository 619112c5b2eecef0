#include "iot-amqpd/metrics.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include <fmt/format.h>

namespace iot {
namespace {

// Label values escape backslash, double quote and newline (the text format's rules).
std::string label_value(const std::string& raw) {
    std::string out;
    for (char c : raw) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

template <typename Getter>
void group_family(std::string& out, const std::vector<GroupMetrics>& groups, const char* name, const char* type,
                  const char* help, Getter value) {
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    for (const auto& g : groups)
        fmt::format_to(std::back_inserter(out), "{}{{group=\"{}\"}} {}\n", name, label_value(g.group), value(g));
}

}  // namespace

std::string render_metrics(const std::vector<GroupMetrics>& groups, const ProcessMetrics& process) {
    std::string out;
    group_family(out, groups, "iot_amqpd_messages_received_total", "counter",
                 "Deliveries received from the cloud, duplicates included.", [](auto& g) { return g.received; });
    group_family(out, groups, "iot_amqpd_messages_written_total", "counter",
                 "Messages written to the output and acknowledged.", [](auto& g) { return g.written; });
    group_family(out, groups, "iot_amqpd_messages_duplicate_total", "counter",
                 "Redelivered messages acknowledged without a second entry.", [](auto& g) { return g.duplicates; });
    group_family(out, groups, "iot_amqpd_write_failures_total", "counter", "Failed attempts to write a message.",
                 [](auto& g) { return g.write_failures; });
    group_family(out, groups, "iot_amqpd_reconnects_total", "counter", "Connection attempts after the first.",
                 [](auto& g) { return g.reconnects; });
    group_family(out, groups, "iot_amqpd_auth_failures_total", "counter", "Authentication failures.",
                 [](auto& g) { return g.auth_failures; });
    group_family(out, groups, "iot_amqpd_journal_dropped_total", "counter",
                 "Entries journald read but did not store (disk full, Storage=none, ...); each was written again.",
                 [](auto& g) { return g.journal_dropped; });
    group_family(out, groups, "iot_amqpd_journal_queue_full_total", "counter",
                 "Writes that found journald's socket queue full: journald is the bottleneck.",
                 [](auto& g) { return g.journal_queue_full; });
    group_family(out, groups, "iot_amqpd_journal_not_storing", "gauge",
                 "1 while journald stores none of the group's entries and the group holds its messages.",
                 [](auto& g) { return g.output_holding ? 1 : 0; });
    group_family(out, groups, "iot_amqpd_dedup_window_ids", "gauge",
                 "Message ids the group remembers to recognise redeliveries (at most dedup_window).",
                 [](auto& g) { return g.dedup_ids; });
    group_family(out, groups, "iot_amqpd_credit_window", "gauge",
                 "Messages the group's connections let be in flight now (adaptive, within credit and memory_budget).",
                 [](auto& g) { return g.credit_window; });
    group_family(out, groups, "iot_amqpd_connections_connected", "gauge", "Connections with an attached receiver.",
                 [](auto& g) { return g.connected; });
    group_family(out, groups, "iot_amqpd_connections_configured", "gauge", "Connections configured for the group.",
                 [](auto& g) { return g.connections; });
    group_family(out, groups, "iot_amqpd_seconds_since_last_message", "gauge",
                 "Seconds since the last message was written; -1 before the first.",
                 [](auto& g) { return g.seconds_since_last_message; });
    fmt::format_to(std::back_inserter(out),
                   "# HELP iot_amqpd_uptime_seconds Seconds since the daemon started.\n"
                   "# TYPE iot_amqpd_uptime_seconds gauge\niot_amqpd_uptime_seconds {:.3f}\n"
                   "# HELP iot_amqpd_reloads_total Configuration reloads by result.\n"
                   "# TYPE iot_amqpd_reloads_total counter\n"
                   "iot_amqpd_reloads_total{{result=\"succeeded\"}} {}\n"
                   "iot_amqpd_reloads_total{{result=\"failed\"}} {}\n",
                   process.uptime_seconds, process.reloads_succeeded, process.reloads_failed);
    return out;
}

int write_file_atomically(const std::string& path, const std::string& content) {
    const std::string tmp = path + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return errno;
    int err = 0;
    // node_exporter runs as another user: the file is world-readable whatever
    // the service's umask (it holds counters, never secrets).
    if (::fchmod(fd, 0644) != 0) err = errno;
    std::size_t done = 0;
    while (err == 0 && done < content.size()) {
        const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            err = errno;
            break;
        }
        done += static_cast<std::size_t>(n);
    }
    if (::close(fd) != 0 && err == 0) err = errno;
    if (err == 0 && std::rename(tmp.c_str(), path.c_str()) != 0) err = errno;
    if (err != 0) ::unlink(tmp.c_str());
    return err;
}

}  // namespace iot
