// The supervisor loop (DESIGN.md §7): owns one GroupRunner per consumer group,
// reads signals from a signalfd next to a timerfd, keeps the service manager
// informed (READY, STATUS, WATCHDOG, RELOADING, STOPPING), reloads the config
// as a transaction, writes metrics, and drains everything on SIGTERM.
//
// Thread: the main thread only. It talks to groups through GroupRunner's
// thread-safe calls and reads their GroupHealth atomics.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "iot-amqpd/cloud_profile.hpp"
#include "iot-amqpd/config.hpp"
#include "iot-amqpd/group_runner.hpp"
#include "iot-amqpd/metrics.hpp"
#include "iot-amqpd/notifier.hpp"
#include "iot-amqpd/stopping_notice.hpp"

namespace iot {

inline constexpr std::chrono::milliseconds kStopTimeout{10000};

class Supervisor {
public:
    Supervisor(std::string config_path, LoadEnvironment env, std::shared_ptr<const Config> config, Notifier& notifier,
               StoppingNotice& stopping, std::optional<LogLevel> log_level_override = std::nullopt);
    ~Supervisor();
    Supervisor(const Supervisor&) = delete;
    Supervisor& operator=(const Supervisor&) = delete;

    // Runs until SIGTERM/SIGINT arrives on `signal_fd`; returns the exit code.
    int run(int signal_fd);

private:
    void start_group(const std::shared_ptr<const GroupConfig>& group);
    bool stop_groups(const std::vector<std::string>& names, std::chrono::milliseconds timeout);
    void on_timer();
    void reload();
    void restart_failed_groups();
    void ping_watchdog_if_healthy(std::int64_t now_ms);
    void update_status(std::int64_t now_ms);
    void write_metrics(std::int64_t now_ms);
    [[nodiscard]] std::string status_line(std::int64_t now_ms) const;
    [[nodiscard]] std::vector<GroupMetrics> snapshot(std::int64_t now_ms) const;

    std::string config_path_;
    LoadEnvironment env_;
    std::shared_ptr<const Config> config_;
    Notifier& notifier_;
    StoppingNotice& stopping_;
    // --log-level: wins over log.level, at start and at every reload.
    std::optional<LogLevel> log_level_override_;
    std::map<std::string, std::unique_ptr<GroupRunner>> groups_;

    std::int64_t started_ms_ = 0;
    bool ready_sent_ = false;
    std::optional<std::chrono::microseconds> watchdog_interval_;
    std::int64_t last_watchdog_ms_ = 0;
    std::string last_status_;
    std::string last_reload_result_;
    std::int64_t last_status_ms_ = 0;
    std::int64_t last_metrics_ms_ = 0;
    std::uint64_t reloads_succeeded_ = 0;
    std::uint64_t reloads_failed_ = 0;
    std::map<std::string, std::int64_t> last_restart_ms_;
};

}  // namespace iot
