#include "iot-amqpd/group_runner.hpp"

#include <proton/error_condition.hpp>

#include "iot-amqpd/journal_seed.hpp"
#include "iot-amqpd/logging.hpp"

namespace iot {

GroupRunner::GroupRunner(std::shared_ptr<const GroupConfig> config, OutputConfig output)
    : config_(std::move(config)), output_(std::move(output)) {
    health_.connections.store(config_->connections);
}

GroupRunner::~GroupRunner() {
    request_stop();
    if (thread_.joinable()) thread_.join();
}

void GroupRunner::start() {
    thread_ = std::thread([this] { run(); });
}

void GroupRunner::request_stop() {
    stop_requested_.store(true);
    if (consumer_ready_.load()) consumer_->request_stop();
}

void GroupRunner::run() {
    const LogContext ctx{"dedup_seeded", config_->name};  // "group_started" is the supervisor's line
    try {
        DedupWindow dedup(config_->dedup_window);
        if (output_.type == OutputType::journald && config_->dedup_window > 0) {
            const SeedResult seed = seed_from_journal(output_.syslog_identifier, config_->name, dedup);
            log_event(spdlog::level::info, ctx, "remembered {} recent message ids from the journal in {} ms", seed.ids,
                      seed.elapsed.count());
        }
        consumer_ = std::make_unique<GroupConsumer>(config_, make_sink(output_), health_, std::move(dedup));
        container_ = std::make_unique<proton::container>(*consumer_, "iot-amqpd-" + config_->name);
        // The group's timers are not container timers (see monotonic_timers.hpp),
        // so while every connection waits for its reconnect nothing would keep
        // an auto-stopping container running: the consumer's tick ends it with
        // container::stop() instead.
        container_->auto_stop(false);
        consumer_ready_.store(true);
        if (stop_requested_.load()) consumer_->request_stop();
        container_->run();
    } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(mutex_);
        failure_ = e.what();
    }
    if (consumer_) {
        consumer_->release_timers();  // before the container goes
        std::lock_guard<std::mutex> lock(mutex_);
        if (failure_.empty()) failure_ = consumer_->job_failure();
    }
    {
        std::lock_guard<std::mutex> lock(mutex_);
        finished_.store(true);
    }
    finished_cv_.notify_all();
}

bool GroupRunner::wait_finished(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!finished_cv_.wait_for(lock, timeout, [this] { return finished_.load(); })) return false;
    lock.unlock();
    if (thread_.joinable()) thread_.join();
    return true;
}

std::string GroupRunner::failure() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return failure_;
}

}  // namespace iot
