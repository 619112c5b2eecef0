#include "iot-amqpd/monotonic_timers.hpp"

#include <utility>

namespace iot {

MonotonicTimers::MonotonicTimers(proton::container& container) : queue_(container) {
    thread_ = std::thread([this] { run(); });
}

MonotonicTimers::~MonotonicTimers() { shutdown(); }

void MonotonicTimers::schedule(Millis delay, std::function<void()> job) {
    const SteadyTime when = std::chrono::steady_clock::now() + delay;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (shutting_down_) return;
        const bool earliest = due_.empty() || when < due_.begin()->first;
        due_.emplace(when, std::move(job));
        if (!earliest) return;
    }
    changed_.notify_one();
}

void MonotonicTimers::shutdown() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        shutting_down_ = true;
        due_.clear();
    }
    changed_.notify_one();
    if (thread_.joinable()) thread_.join();
}

// libstdc++ waits for a steady_clock deadline with
// pthread_cond_clockwait(CLOCK_MONOTONIC): a wall clock step does not move it.
void MonotonicTimers::run() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!shutting_down_) {
        if (due_.empty()) {
            changed_.wait(lock);
            continue;
        }
        const SteadyTime next = due_.begin()->first;
        if (std::chrono::steady_clock::now() < next) {
            changed_.wait_until(lock, next);
            continue;
        }
        std::function<void()> job = std::move(due_.begin()->second);
        due_.erase(due_.begin());
        lock.unlock();
        // False only once the container's event loop has ended: the job is
        // then dropped, as a schedule() job would be.
        (void)queue_.add(proton::work(std::move(job)));
        lock.lock();
    }
}

}  // namespace iot
