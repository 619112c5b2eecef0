// One consumer group inside its own proton::container: `connections`
// connections, each with one receiver link, its own reconnect pacing, and the
// write-then-accept path of DESIGN.md §6.
//
// Thread ownership:
//   immutable after construction: config_, profile_, health_ (the object; its fields are atomics)
//   group thread only (proton callbacks and the tick): everything else
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

class GroupConsumer final : public proton::messaging_handler {
public:
    GroupConsumer(std::shared_ptr<const GroupConfig> config, std::shared_ptr<const CloudProfile> profile,
                  std::unique_ptr<MessageSink> sink, GroupHealth& health, DedupWindow dedup);
    ~GroupConsumer() override;
    GroupConsumer(const GroupConsumer&) = delete;
    GroupConsumer& operator=(const GroupConsumer&) = delete;

    // Thread-safe: stop granting credit, finish what is in hand, close, end run().
    void request_stop() { stop_requested_.store(true); }

    // --- used by ConnectionSlot (group thread only) ---
    [[nodiscard]] const GroupConfig& config() const { return *config_; }
    [[nodiscard]] const CloudProfile& profile() const { return *profile_; }
    [[nodiscard]] GroupHealth& health() { return health_; }
    [[nodiscard]] MessageSink& sink() { return *sink_; }
    [[nodiscard]] DedupWindow& dedup() { return dedup_; }
    [[nodiscard]] AttemptLimiter& limiter() { return limiter_; }
    [[nodiscard]] bool stopping() const { return stopping_; }
    [[nodiscard]] proton::container& container() { return *container_; }
    [[nodiscard]] const proton::ssl_client_options& ssl_options() const { return *ssl_options_; }
    void connection_count_changed();

private:
    void on_container_start(proton::container& container) override;
    void tick();
    void begin_stop();
    void refresh_problem();

    std::shared_ptr<const GroupConfig> config_;
    std::shared_ptr<const CloudProfile> profile_;
    std::unique_ptr<MessageSink> sink_;
    GroupHealth& health_;
    DedupWindow dedup_;
    AttemptLimiter limiter_;
    std::atomic<bool> stop_requested_{false};

    proton::container* container_ = nullptr;
    std::optional<proton::ssl_client_options> ssl_options_;
    std::vector<std::unique_ptr<ConnectionSlot>> slots_;
    bool stopping_ = false;
    SteadyTime stop_deadline_{};
};

}  // namespace iot
