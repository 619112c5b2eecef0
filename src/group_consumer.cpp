#include "iot-amqpd/group_consumer.hpp"

#include <proton/work_queue.hpp>

#include <algorithm>
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

// ---- writing, and accepting once the write is durable ---------------------

int GroupConsumer::write(const MessageRecord& record) {
    const int err = sink_->write(record);
    if (err == 0 && record.message_id) {
        dedup_.remember(*record.message_id);
        if (dedup_.capacity() > 0 && sink_->durable_through() < sink_->last_write())
            in_transit_.push_back({sink_->last_write(), std::string(*record.message_id)});
    }
    check_for_lost_writes();
    return err;
}

void GroupConsumer::settle_soon() {
    if (settle_scheduled_) return;
    settle_scheduled_ = true;
    container_->schedule(proton::duration(settle_poll_.count()),
                         proton::work(std::function<void()>([this] { settle(); })));
}

// Runs on a container timer while any slot holds deliveries: what it accepts
// is flushed by waking the connections (see ConnectionSlot::tick()).
void GroupConsumer::settle() {
    settle_scheduled_ = false;
    sink_->poll();
    check_for_lost_writes();
    const std::uint64_t durable = sink_->durable_through();
    while (!in_transit_.empty() && in_transit_.front().write <= durable) in_transit_.pop_front();
    bool progress = false;
    bool holding = false;
    for (auto& slot : slots_) {
        if (slot->settle(durable) > 0) {
            progress = true;
            slot->wake();
        }
        holding = holding || slot->holding();
    }
    settle_poll_ = progress ? kFirstSettlePoll : std::min(settle_poll_ * 2, kMaxSettlePoll);
    if (holding) settle_soon();
}

void GroupConsumer::check_for_lost_writes() {
    if (const auto lost = sink_->take_lost()) recover_lost_writes(*lost);
}

// journald died with some of our entries unread. Which ones it stored
// anyway, the journal itself tells; the others leave the dedup window, and
// every connection holding a delivery that waited for a lost write closes
// without accepting, so the cloud redelivers and they are written again.
void GroupConsumer::recover_lost_writes(WriteRange lost) {
    std::vector<std::string> ids;
    while (!in_transit_.empty() && in_transit_.front().write <= lost.last) {
        if (lost.contains(in_transit_.front().write)) ids.push_back(std::move(in_transit_.front().id));
        in_transit_.pop_front();
    }
    for (const auto& id : ids) dedup_.forget(id);
    const std::vector<std::string> stored = sink_->stored_among(config_->name, ids);
    for (const auto& id : stored) dedup_.remember(id);
    std::size_t closed = 0;
    for (auto& slot : slots_) closed += slot->abandon_lost(lost) ? 1 : 0;
    log_event(spdlog::level::warn, LogContext{"journal_lost", config_->name},
              "journald went away before reading all it had taken: {} messages may be lost, {} of them are in the "
              "journal after all; closed {} connections without acknowledging, so the cloud redelivers the rest",
              ids.size(), stored.size(), closed);
}

}  // namespace iot
