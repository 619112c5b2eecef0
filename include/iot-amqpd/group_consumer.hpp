// One consumer group inside its own proton::container: `connections`
// connections, each with one receiver link, its own reconnect pacing, and the
// write-then-accept path of DESIGN.md §6.
//
// Thread ownership:
//   immutable after construction: config_, cloud_, health_ (the object; its fields are atomics)
//   group thread only (proton callbacks and the jobs of its monotonic timers): everything else;
//     timers_ is created and released there, its own thread only hands jobs to the container
//   shared: stop_requested_ (atomic), set by the supervisor through request_stop()
#pragma once

#include <proton/container.hpp>
#include <proton/messaging_handler.hpp>
#include <proton/ssl.hpp>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "iot-amqpd/backoff.hpp"
#include "iot-amqpd/cloud_profile.hpp"
#include "iot-amqpd/config.hpp"
#include "iot-amqpd/dedup.hpp"
#include "iot-amqpd/health.hpp"
#include "iot-amqpd/message_sink.hpp"
#include "iot-amqpd/monotonic_timers.hpp"

namespace iot {

class ConnectionSlot;

inline constexpr Millis kTickInterval{200};
// A failed write is retried this long with credit stopped; then the connection
// is closed so the cloud redelivers (its ack time-out is 30 s).
inline constexpr Millis kWriteRetryLimit{20000};
// A connection that stayed up this long resets its backoff.
inline constexpr Millis kHealthyUptime{30000};
// How long a stopping group waits for its connections to close.
inline constexpr Millis kCloseGrace{3000};
// While deliveries wait for their writes to become durable (journald to read
// them), the output is polled this often, backing off while it makes no progress.
inline constexpr Millis kFirstSettlePoll{1};
inline constexpr Millis kMaxSettlePoll{50};
// Entries journald dropped once and that were then stored are reported at most this often.
inline constexpr std::chrono::minutes kDropReportEvery{1};

class GroupConsumer final : public proton::messaging_handler {
public:
    GroupConsumer(std::shared_ptr<const GroupConfig> config, std::unique_ptr<MessageSink> sink, GroupHealth& health,
                  DedupWindow dedup);
    ~GroupConsumer() override;
    GroupConsumer(const GroupConsumer&) = delete;
    GroupConsumer& operator=(const GroupConsumer&) = delete;

    // Thread-safe: stop granting credit, finish what is in hand, close, end run().
    void request_stop() { stop_requested_.store(true); }

    // --- used by ConnectionSlot (group thread only) ---
    [[nodiscard]] const GroupConfig& config() const { return *config_; }
    [[nodiscard]] const CloudSettings& cloud() const { return cloud_; }
    [[nodiscard]] GroupHealth& health() { return health_; }
    [[nodiscard]] DedupWindow& dedup() { return dedup_; }
    // Writes a message to the output and remembers its id; 0 or an errno value.
    [[nodiscard]] int write(const MessageRecord& record);
    [[nodiscard]] std::uint64_t last_write() const { return sink_->last_write(); }
    [[nodiscard]] std::uint64_t durable_through() const { return sink_->durable_through(); }
    // The output stores nothing for now: grant no credit.
    [[nodiscard]] bool output_holding() const { return output_holding_; }
    // A slot holds deliveries whose writes are not durable yet: poll the output soon.
    void settle_soon();
    [[nodiscard]] AttemptLimiter& limiter() { return limiter_; }
    [[nodiscard]] bool stopping() const { return stopping_; }
    [[nodiscard]] proton::container& container() { return *container_; }
    [[nodiscard]] const proton::ssl_client_options& ssl_options() const { return *ssl_options_; }
    void connection_count_changed();
    // Ends the monotonic timers' thread and drops their work queue. The group
    // runner calls it once container::run() returned, before the container
    // is destroyed (the work queue unregisters itself from the container).
    void release_timers() { timers_.reset(); }
    // Why a timer job failed and ended the container; "" if none did. Read by
    // the group runner once container::run() returned (same thread).
    [[nodiscard]] const std::string& job_failure() const { return job_failure_; }

private:
    void on_container_start(proton::container& container) override;
    void tick();
    void run_job(void (GroupConsumer::*job)());
    void begin_stop();
    void refresh_problem();
    void settle();
    void observe_output();

    std::shared_ptr<const GroupConfig> config_;
    const CloudSettings& cloud_;  // owned by config_
    std::unique_ptr<MessageSink> sink_;
    GroupHealth& health_;
    DedupWindow dedup_;
    AttemptLimiter limiter_;
    std::atomic<bool> stop_requested_{false};

    proton::container* container_ = nullptr;
    // The tick and the settle polls run on these, not on container::schedule(),
    // which follows the wall clock (see monotonic_timers.hpp).
    std::unique_ptr<MonotonicTimers> timers_;
    bool container_stopped_ = false;  // container::stop() was called: the tick no longer re-arms
    std::string job_failure_;
    std::optional<proton::ssl_client_options> ssl_options_;
    std::vector<std::unique_ptr<ConnectionSlot>> slots_;
    bool stopping_ = false;
    SteadyTime stop_deadline_{};

    bool settle_scheduled_ = false;
    bool output_holding_ = false;
    SteadyTime output_holding_since_{};
    std::uint64_t reported_dropped_ = 0;
    SteadyTime last_drop_report_{};
    Millis settle_poll_{kFirstSettlePoll};
};

}  // namespace iot
