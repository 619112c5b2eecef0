// Runs one consumer group: its proton::container and GroupConsumer on a
// thread of their own.
//
// Thread ownership:
//   supervisor thread: construction, start(), request_stop(), wait_finished(), destruction
//   group thread: the container and the consumer (see GroupConsumer)
//   shared: health() (atomics), finished_ (atomic), failure_ (under mutex_)
#pragma once

#include <proton/container.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "iot-amqpd/cloud_profile.hpp"
#include "iot-amqpd/config.hpp"
#include "iot-amqpd/group_consumer.hpp"
#include "iot-amqpd/health.hpp"

namespace iot {

class GroupRunner {
public:
    GroupRunner(std::shared_ptr<const GroupConfig> config, OutputConfig output);
    ~GroupRunner();  // requests a stop and joins if still running
    GroupRunner(const GroupRunner&) = delete;
    GroupRunner& operator=(const GroupRunner&) = delete;

    void start();
    void request_stop();
    // True when the thread ended within `timeout` (then it is joined).
    bool wait_finished(std::chrono::milliseconds timeout);

    [[nodiscard]] bool finished() const { return finished_.load(); }
    [[nodiscard]] bool stop_requested() const { return stop_requested_.load(); }
    [[nodiscard]] std::string failure() const;  // why run() ended on its own, "" if it did not
    [[nodiscard]] const GroupConfig& config() const { return *config_; }
    [[nodiscard]] std::shared_ptr<const GroupConfig> config_ptr() const { return config_; }
    [[nodiscard]] GroupHealth& health() { return health_; }
    [[nodiscard]] const GroupHealth& health() const { return health_; }

private:
    void run();

    std::shared_ptr<const GroupConfig> config_;
    OutputConfig output_;
    GroupHealth health_;
    std::unique_ptr<GroupConsumer> consumer_;
    std::unique_ptr<proton::container> container_;
    std::thread thread_;

    std::atomic<bool> stop_requested_{false};
    std::atomic<bool> consumer_ready_{false};  // consumer_ exists and may be told to stop
    std::atomic<bool> finished_{false};
    mutable std::mutex mutex_;
    std::condition_variable finished_cv_;
    std::string failure_;
};

}  // namespace iot
