#include "iot-amqpd/group_consumer.hpp"

#include <algorithm>
#include <random>

#include "iot-amqpd/connection_slot.hpp"
#include "iot-amqpd/logging.hpp"
#include "iot-amqpd/tls_client_options.hpp"

namespace iot {

GroupConsumer::GroupConsumer(std::shared_ptr<const GroupConfig> config, std::unique_ptr<MessageSink> sink,
                             GroupHealth& health, DedupWindow dedup)
    : config_(std::move(config)),
      cloud_(*config_->settings),
      sink_(std::move(sink)),
      health_(health),
      dedup_(std::move(dedup)),
      limiter_(cloud_.profile().limits().attempts_per_minute) {
    health_.connections.store(config_->connections);
    health_.dedup_ids.store(dedup_.size());  // seeded from the journal
}

GroupConsumer::~GroupConsumer() = default;

void GroupConsumer::on_container_start(proton::container& container) {
    container_ = &container;
    timers_ = std::make_unique<MonotonicTimers>(container);
    ssl_options_.emplace(make_tls_client_options(config_->tls));
    std::random_device entropy;
    for (const auto& client_id : config_->client_ids)
        slots_.push_back(
            std::make_unique<ConnectionSlot>(*this, client_id, (std::uint64_t{entropy()} << 32) | entropy()));
    health_.started.store(true);
    tick();  // connects every slot at once, then re-arms itself
}

// The group's heartbeat: stamps liveness for the watchdog, drives reconnects
// and write retries, and ends the container once stopping is done. It runs on
// the monotonic timers (a wall clock step does not stall it) and stops
// re-arming once it stopped the container: the group runner turns the
// container's auto-stop off (it would otherwise end run() whenever every
// connection is closed and no timer is pending), so container::stop() here is
// what ends run().
void GroupConsumer::tick() {
    if (container_stopped_) return;  // a tick handed over before the stop
    const auto now = std::chrono::steady_clock::now();
    health_.last_tick_ms.store(monotonic_ms(), std::memory_order_relaxed);
    if (stop_requested_.load() && !stopping_) begin_stop();
    if (stopping_) {
        bool all_closed = true;
        for (auto& slot : slots_) all_closed = slot->close_for_stop() && all_closed;
        if (all_closed || now >= stop_deadline_) {
            container_stopped_ = true;
            container_->stop();
            return;
        }
    } else {
        for (auto& slot : slots_) slot->tick(now);
        refresh_problem();
    }
    // Writes can wait to be stored (or written again) with no delivery held:
    // their connection closed, the cloud redelivers them as duplicates.
    if (!sink_->idle()) settle_soon();
    timers_->schedule(kTickInterval, [this] { run_job(&GroupConsumer::tick); });
}

// proton runs work-queue jobs with every exception swallowed
// (common_work_queue::run_all_jobs), where an exception in a schedule() job
// stopped the container and was rethrown from run(). Keep that: the group
// ends with the reason, and the supervisor restarts it, instead of a tick
// that silently stopped re-arming.
void GroupConsumer::run_job(void (GroupConsumer::*job)()) {
    try {
        (this->*job)();
    } catch (const std::exception& e) {
        job_failure_ = e.what();
        container_stopped_ = true;
        container_->stop();
    }
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
    if (output_holding_)
        problem = fmt::format("journald is not storing entries: holding {} messages unacknowledged", sink_->unstored());
    for (const auto& slot : slots_) {
        if (!problem.empty()) break;
        problem = slot->problem(now);
        if (!problem.empty()) break;
    }
    health_.set_problem(std::move(problem));
}

// ---- writing, and accepting once the write is durable ---------------------

// An id is remembered once its write was taken: the sink then stores that
// entry or keeps writing it again until it does (for as long as this group
// runs), and a duplicate is accepted only once every earlier write is
// stored. A group that stops with entries unstored never accepted their
// deliveries, and the next one seeds its window from the journal: only ids
// whose entries are stored.
int GroupConsumer::write(const MessageRecord& record) {
    const int err = sink_->write(record);
    if (err == 0 && record.message_id) {
        dedup_.remember(*record.message_id);
        health_.dedup_ids.store(dedup_.size(), std::memory_order_relaxed);
    }
    return err;
}

void GroupConsumer::settle_soon() {
    if (settle_scheduled_ || container_stopped_) return;
    settle_scheduled_ = true;
    timers_->schedule(settle_poll_, [this] { run_job(&GroupConsumer::settle); });
}

// Runs on a monotonic timer while any slot holds deliveries or the sink has
// writes not stored yet: what it accepts is flushed by waking the connections
// (see ConnectionSlot::tick()).
void GroupConsumer::settle() {
    settle_scheduled_ = false;
    sink_->poll();
    observe_output();
    const std::uint64_t durable = sink_->durable_through();
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
    if (holding || !sink_->idle()) settle_soon();
}

// What the operator must know about the output: journald dropping entries it
// read (written again, counted), and journald storing nothing at all (the
// group holds: nothing accepted, no credit, until it stores again).
void GroupConsumer::observe_output() {
    const std::uint64_t dropped = sink_->dropped();
    health_.journal_dropped.store(dropped, std::memory_order_relaxed);
    health_.journal_queue_full.store(sink_->queue_full(), std::memory_order_relaxed);
    const bool holding = sink_->holding();
    health_.output_holding.store(holding, std::memory_order_relaxed);
    const auto now = std::chrono::steady_clock::now();
    if (holding && !output_holding_) {
        output_holding_since_ = now;
        log_event(spdlog::level::err, LogContext{"journal_not_storing", config_->name},
                  "journald reads our entries but does not store them ({} dropped so far): holding {} messages, none "
                  "acknowledged and no new credit until it stores again; they are written again then. Check free "
                  "space where the journal lives (df /var/log/journal /run/log/journal), journald's Storage= and "
                  "MaxLevelStore=, this unit's LogLevelMax= and rate limit, and journalctl --verify",
                  dropped, sink_->unstored());
    } else if (!holding && output_holding_) {
        log_event(spdlog::level::info, LogContext{"journal_storing", config_->name},
                  "journald stores entries again after {}s; the entries it had dropped are written again",
                  std::chrono::duration_cast<std::chrono::seconds>(now - output_holding_since_).count());
    } else if (!holding && dropped > reported_dropped_ && now - last_drop_report_ >= kDropReportEvery) {
        log_event(spdlog::level::warn, LogContext{"journal_dropped", config_->name},
                  "journald dropped {} of our entries without storing them; they were written again",
                  dropped - reported_dropped_);
        reported_dropped_ = dropped;
        last_drop_report_ = now;
    }
    output_holding_ = holding;
}

}  // namespace iot
