#include "iot-amqpd/supervisor.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "iot-amqpd/config_diff.hpp"
#include "iot-amqpd/errno_text.hpp"
#include "iot-amqpd/exit_codes.hpp"
#include "iot-amqpd/logging.hpp"

namespace iot {
namespace {

constexpr std::int64_t kTimerPeriodMs = 100;
constexpr std::int64_t kStatusEveryMs = 1000;
constexpr std::int64_t kGroupRestartDelayMs = 5000;
constexpr std::int64_t kMinTickAgeLimitMs = 1000;

class TimerFd {
public:
    explicit TimerFd(std::int64_t period_ms) : fd_(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK)) {
        if (fd_ < 0) throw std::runtime_error("timerfd_create: " + errno_text(errno));
        itimerspec spec{};
        spec.it_interval.tv_nsec = period_ms * 1000000;
        spec.it_value = spec.it_interval;
        ::timerfd_settime(fd_, 0, &spec, nullptr);
    }
    ~TimerFd() { ::close(fd_); }
    TimerFd(const TimerFd&) = delete;
    TimerFd& operator=(const TimerFd&) = delete;
    [[nodiscard]] int fd() const { return fd_; }
    void drain() const {
        std::uint64_t expirations = 0;
        // Only clears readiness; the count does not matter (the timer is periodic).
        if (::read(fd_, &expirations, sizeof(expirations)) < 0) expirations = 0;
    }

private:
    int fd_;
};

std::string monotonic_usec() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::to_string(static_cast<long long>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000);
}

}  // namespace

Supervisor::Supervisor(std::string config_path, LoadEnvironment env, std::shared_ptr<const Config> config,
                       Notifier& notifier, StoppingNotice& stopping, std::optional<LogLevel> log_level_override)
    : config_path_(std::move(config_path)),
      env_(std::move(env)),
      config_(std::move(config)),
      notifier_(notifier),
      stopping_(stopping),
      log_level_override_(log_level_override) {}

Supervisor::~Supervisor() = default;

int Supervisor::run(int signal_fd) {
    started_ms_ = monotonic_ms();
    watchdog_interval_ = notifier_.watchdog_interval();
    for (const auto& group : config_->groups) start_group(std::make_shared<const GroupConfig>(group));

    TimerFd timer(kTimerPeriodMs);
    for (;;) {
        pollfd fds[2] = {{signal_fd, POLLIN, 0}, {timer.fd(), POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            throw std::runtime_error("poll: " + errno_text(errno));
        }
        if ((fds[0].revents & POLLIN) != 0) {
            signalfd_siginfo info{};
            if (::read(signal_fd, &info, sizeof(info)) == static_cast<ssize_t>(sizeof(info))) {
                if (info.ssi_signo == SIGHUP) {
                    reload();
                } else {
                    log_event(spdlog::level::info, LogContext{"stopping", ""}, "received {}, stopping",
                              info.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
                    break;
                }
            }
        }
        if ((fds[1].revents & POLLIN) != 0) {
            timer.drain();
            on_timer();
        }
    }

    stopping_.send("stopping: finishing messages in hand, closing connections");
    write_metrics(monotonic_ms());
    std::vector<std::string> names;
    for (const auto& [name, runner] : groups_) names.push_back(name);
    return stop_groups(names, kStopTimeout) ? kExitOk : kExitFailure;
}

void Supervisor::start_group(const std::shared_ptr<const GroupConfig>& group) {
    auto runner = std::make_unique<GroupRunner>(group, config_->output);
    runner->start();
    log_event(spdlog::level::info, LogContext{"group_started", group->name},
              "consumer group {} (cloud: {}{}{}): {} connection(s) to {}:{}", group->name, group->cloud,
              group->settings->group_id().empty() ? "" : ", ", group->settings->group_id(), group->connections,
              group->host, group->port);
    groups_[group->name] = std::move(runner);
}

// Asks all of them first, then waits, so the groups close in parallel.
bool Supervisor::stop_groups(const std::vector<std::string>& names, std::chrono::milliseconds timeout) {
    for (const auto& name : names)
        if (auto it = groups_.find(name); it != groups_.end()) it->second->request_stop();
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    bool all = true;
    for (const auto& name : names) {
        auto it = groups_.find(name);
        if (it == groups_.end()) continue;
        const auto left = std::max(std::chrono::milliseconds(0), std::chrono::duration_cast<std::chrono::milliseconds>(
                                                                     deadline - std::chrono::steady_clock::now()));
        if (it->second->wait_finished(left)) {
            groups_.erase(it);
            continue;
        }
        all = false;
        log_event(spdlog::level::err, LogContext{"stop_timeout", name},
                  "group did not stop within {}s (is the output blocked?); abandoning its thread",
                  timeout.count() / 1000);
        // Leaked on purpose: its thread still uses it, and destroying it would block or crash.
        (void)it->second.release();  // NOLINT(bugprone-unused-return-value)
        groups_.erase(it);
    }
    return all;
}

void Supervisor::on_timer() {
    const std::int64_t now = monotonic_ms();
    if (!ready_sent_) {
        bool all_started = true;
        for (const auto& [name, runner] : groups_) all_started = all_started && runner->health().started.load();
        if (all_started) {
            ready_sent_ = true;
            notifier_.notify("READY=1\nSTATUS=" + status_line(now));
            log_event(spdlog::level::info, LogContext{"ready", ""}, "ready: {} consumer group(s) running",
                      groups_.size());
        }
    }
    restart_failed_groups();
    ping_watchdog_if_healthy(now);
    if (now - last_status_ms_ >= kStatusEveryMs) update_status(now);
    if (!config_->metrics.textfile.empty() && now - last_metrics_ms_ >= config_->metrics.interval.count())
        write_metrics(now);
}

// A group whose container ended on its own (an exception in a handler) is
// restarted after a pause; it is never silently left dead.
void Supervisor::restart_failed_groups() {
    const std::int64_t now = monotonic_ms();
    std::vector<std::shared_ptr<const GroupConfig>> restart;
    for (auto& [name, runner] : groups_) {
        if (!runner->finished() || runner->stop_requested()) continue;
        if (now - last_restart_ms_[name] < kGroupRestartDelayMs) continue;
        log_event(spdlog::level::err, LogContext{"group_failed", name}, "group stopped unexpectedly ({}); restarting",
                  runner->failure());
        restart.push_back(runner->config_ptr());
    }
    for (auto& group : restart) {
        groups_.at(group->name)->wait_finished(std::chrono::milliseconds(0));
        groups_.erase(group->name);
        last_restart_ms_[group->name] = now;
        start_group(group);
    }
}

// A ping means progress: the supervisor loop is here, and every group's event
// loop ticked recently. A group stuck in a blocking write stops the pings.
void Supervisor::ping_watchdog_if_healthy(std::int64_t now) {
    if (!watchdog_interval_) return;
    const std::int64_t interval_ms = watchdog_interval_->count() / 1000;
    if (now - last_watchdog_ms_ < interval_ms) return;
    const std::int64_t max_tick_age = std::max(interval_ms, kMinTickAgeLimitMs);
    for (const auto& [name, runner] : groups_) {
        const std::int64_t tick = runner->health().last_tick_ms.load(std::memory_order_relaxed);
        if (tick == 0 || now - tick > max_tick_age) return;
    }
    notifier_.notify("WATCHDOG=1");
    last_watchdog_ms_ = now;
}

void Supervisor::update_status(std::int64_t now) {
    last_status_ms_ = now;
    std::string line = status_line(now);
    if (line == last_status_) return;
    last_status_ = line;
    notifier_.notify("STATUS=" + line);
}

// "3/3 groups connected, 120034 messages, 0 write errors, last message 2s ago; factory-b: authentication failed,
// retrying in 60s"
std::string Supervisor::status_line(std::int64_t now) const {
    std::size_t connected = 0;
    std::uint64_t messages = 0;
    std::uint64_t write_errors = 0;
    std::uint64_t dropped = 0;
    std::int64_t last_message = 0;
    std::string problems;
    for (const auto& [name, runner] : groups_) {
        const GroupHealth& h = runner->health();
        if (h.connected.load() >= h.connections.load() && h.connections.load() > 0) ++connected;
        messages += h.written.load();
        write_errors += h.write_failures.load();
        dropped += h.journal_dropped.load();
        last_message = std::max(last_message, h.last_message_ms.load());
        if (auto problem = h.problem(); !problem.empty()) problems += fmt::format("; {}: {}", name, problem);
    }
    std::string line = fmt::format("{}/{} groups connected, {} messages, {} write errors", connected, groups_.size(),
                                   messages, write_errors);
    if (dropped > 0) line += fmt::format(", {} entries dropped by journald and written again", dropped);
    if (last_message > 0) line += fmt::format(", last message {}s ago", (now - last_message) / 1000);
    line += problems;
    if (!last_reload_result_.empty()) line += "; " + last_reload_result_;
    return line;
}

std::vector<GroupMetrics> Supervisor::snapshot(std::int64_t now) const {
    std::vector<GroupMetrics> out;
    for (const auto& [name, runner] : groups_) {
        const GroupHealth& h = runner->health();
        GroupMetrics m;
        m.group = name;
        m.received = h.received.load();
        m.written = h.written.load();
        m.duplicates = h.duplicates.load();
        m.write_failures = h.write_failures.load();
        m.reconnects = h.reconnects.load();
        m.auth_failures = h.auth_failures.load();
        m.journal_dropped = h.journal_dropped.load();
        m.journal_queue_full = h.journal_queue_full.load();
        m.dedup_ids = h.dedup_ids.load();
        m.credit_window = h.credit_window.load();
        m.output_holding = h.output_holding.load();
        m.connected = h.connected.load();
        m.connections = h.connections.load();
        const std::int64_t last = h.last_message_ms.load();
        m.seconds_since_last_message = last == 0 ? -1.0 : static_cast<double>(now - last) / 1000.0;
        out.push_back(std::move(m));
    }
    return out;
}

void Supervisor::write_metrics(std::int64_t now) {
    last_metrics_ms_ = now;
    if (config_->metrics.textfile.empty()) return;
    ProcessMetrics process;
    process.uptime_seconds = static_cast<double>(now - started_ms_) / 1000.0;
    process.reloads_succeeded = reloads_succeeded_;
    process.reloads_failed = reloads_failed_;
    if (const int err = write_file_atomically(config_->metrics.textfile, render_metrics(snapshot(now), process));
        err != 0) {
        log_event(spdlog::level::warn, LogContext{"metrics_failed", ""}, "cannot write metrics file {}: {}",
                  config_->metrics.textfile, errno_text(err));
    }
}

// Reload is a transaction: the whole new file is loaded and validated first;
// any error keeps the running config untouched.
void Supervisor::reload() {
    notifier_.notify("RELOADING=1\nMONOTONIC_USEC=" + monotonic_usec());
    log_event(spdlog::level::info, LogContext{"reloading", ""}, "SIGHUP: reloading {}", config_path_);
    LoadResult loaded = load_config(config_path_, env_);
    for (const auto& warning : loaded.warnings)
        log_event(spdlog::level::warn, LogContext{"config_warning", ""}, "{}", warning);
    if (!loaded.ok()) {
        ++reloads_failed_;
        for (const auto& error : loaded.errors)
            log_event(spdlog::level::err, LogContext{"reload_failed", ""}, "{}", error.to_string());
        last_reload_result_ =
            fmt::format("reload failed, running the previous config: {}",
                        loaded.errors.empty() ? std::string("unknown error") : loaded.errors.front().to_string());
        notifier_.notify("READY=1\nSTATUS=" + status_line(monotonic_ms()));
        last_status_.clear();
        return;
    }

    const ConfigDiff diff = diff_configs(*config_, *loaded.config);
    for (const auto& warning : diff.restart_required)
        log_event(spdlog::level::warn, LogContext{"restart_required", ""}, "{}", warning);
    // Settings that need a restart keep their running values.
    auto next = std::make_shared<const Config>(keep_restart_only_settings(*config_, *loaded.config));

    // ---- point of no return: from here the new config is applied ----
    std::vector<std::string> to_stop = diff.removed;
    to_stop.insert(to_stop.end(), diff.changed.begin(), diff.changed.end());
    stop_groups(to_stop, kStopTimeout);
    config_ = next;
    // The command line's --log-level outlives reloads: log.level applies only without it.
    logging::set_level(log_level_override_.value_or(config_->log_level));
    for (const auto& name : diff.changed) start_group(std::make_shared<const GroupConfig>(*config_->find_group(name)));
    for (const auto& name : diff.added) start_group(std::make_shared<const GroupConfig>(*config_->find_group(name)));

    ++reloads_succeeded_;
    last_reload_result_.clear();
    log_event(spdlog::level::info, LogContext{"reloaded", ""},
              "reloaded: {} added, {} removed, {} changed, {} unchanged (unchanged groups kept their connections)",
              diff.added.size(), diff.removed.size(), diff.changed.size(), diff.unchanged.size());
    notifier_.notify(fmt::format("READY=1\nSTATUS=reloaded ({} added, {} removed, {} changed); {}", diff.added.size(),
                                 diff.removed.size(), diff.changed.size(), status_line(monotonic_ms())));
    last_status_.clear();
}

}  // namespace iot
