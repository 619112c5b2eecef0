#include "iot-amqpd/group_consumer.hpp"

#include <proton/work_queue.hpp>

#include <functional>

#include <random>

#include "iot-amqpd/connection_slot.hpp"
#include "iot-amqpd/logging.hpp"
#include "iot-amqpd/tls_client_options.hpp"

namespace iot {

GroupConsumer::GroupConsumer(std::shared_ptr<const GroupConfig> config, std::shared_ptr<const CloudProfile> profile,
                             std::unique_ptr<MessageSink> sink, GroupHealth& health, DedupWindow dedup)
    : config_(std::move(config)),
      profile_(std::move(profile)),
      sink_(std::move(sink)),
      health_(health),
      dedup_(std::move(dedup)) {
    health_.connections.store(config_->connections);
}

GroupConsumer::~GroupConsumer() = default;

void GroupConsumer::on_container_start(proton::container& container) {
    container_ = &container;
    ssl_options_.emplace(make_tls_client_options(config_->tls));
    std::random_device entropy;
    for (const auto& client_id : config_->client_ids)
        slots_.push_back(
            std::make_unique<ConnectionSlot>(*this, client_id, (std::uint64_t{entropy()} << 32) | entropy()));
    health_.started.store(true);
    tick();  // connects every slot at once, then re-arms itself
}

// The group's heartbeat: stamps liveness for the watchdog, drives reconnects
// and write retries, and ends the container once stopping is done. It is the
// only scheduled job, and it stops re-arming when the group stops, because
// container::run() waits for every scheduled job (DESIGN.md §13).
void GroupConsumer::tick() {
    const auto now = std::chrono::steady_clock::now();
    health_.last_tick_ms.store(monotonic_ms(), std::memory_order_relaxed);
    if (stop_requested_.load() && !stopping_) begin_stop();
    if (stopping_) {
        bool all_closed = true;
        for (auto& slot : slots_) all_closed = slot->close_for_stop() && all_closed;
        if (all_closed || now >= stop_deadline_) {
            container_->stop();
            return;
        }
    } else {
        for (auto& slot : slots_) slot->tick(now);
        refresh_problem();
    }
    container_->schedule(proton::duration(kTickInterval.count()),
                         proton::work(std::function<void()>([this] { tick(); })));
}

void GroupConsumer::begin_stop() {
    stopping_ = true;
    stop_deadline_ = std::chrono::steady_clock::now() + kCloseGrace;
    log_event(spdlog::level::info, LogContext{"group_stopping", config_->name},
              "stopping: no more credit, finishing messages in hand, closing connections");
}

void GroupConsumer::connection_count_changed() { refresh_problem(); }

void GroupConsumer::refresh_problem() {
    const auto now = std::chrono::steady_clock::now();
    std::string problem;
    for (const auto& slot : slots_) {
        problem = slot->problem(now);
        if (!problem.empty()) break;
    }
    health_.set_problem(std::move(problem));
}

}  // namespace iot
