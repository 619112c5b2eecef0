// Timers on the monotonic clock for one group's proton::container.
//
// proton-cpp 0.37's container::schedule() files a job at timestamp::now() +
// delay and fires it once timestamp::now() passes that time: the wall clock
// (cpp/src/proactor_container_impl.cpp, run_timer_jobs()). A wall clock
// stepped back 10 minutes froze every such job for 10 minutes: the group's
// tick (so the watchdog pings and a stop), its reconnects and its settle polls.
//
// These timers wait on std::chrono::steady_clock in a thread of their own and
// hand each due job to the container through proton::work_queue::add(). For a
// container's work queue, add() is thread-safe: it queues the job under the
// queue's lock and calls pn_proactor_set_timeout(proactor, 0), itself
// thread-safe, so the container's thread runs the job at its next
// PN_PROACTOR_TIMEOUT event, in the same place as a schedule() job. A job
// therefore runs on the group's thread and may touch the group's proton
// objects (ARCHITECTURE.md). No wall clock is involved on the way.
//
// Thread ownership:
//   group thread: construction (inside container::run()), schedule(), shutdown(), destruction;
//                 the jobs themselves run there
//   the timer's own thread: waits for the earliest deadline, calls work_queue::add()
//   shared: due_ and shutting_down_, under mutex_
#pragma once

#include <proton/container.hpp>
#include <proton/work_queue.hpp>

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "iot-amqpd/backoff.hpp"

namespace iot {

class MonotonicTimers {
public:
    // The container must outlive this object: the work queue unregisters
    // itself from the container when destroyed.
    explicit MonotonicTimers(proton::container& container);
    ~MonotonicTimers();  // shutdown()
    MonotonicTimers(const MonotonicTimers&) = delete;
    MonotonicTimers& operator=(const MonotonicTimers&) = delete;

    // Runs `job` on the container's thread once `delay` has passed on the
    // monotonic clock. Ignored after shutdown().
    void schedule(Millis delay, std::function<void()> job);
    // Ends the timer thread; jobs not yet due are dropped. Jobs already handed
    // to the container still run on its thread if it runs on.
    void shutdown();

private:
    void run();

    proton::work_queue queue_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::multimap<SteadyTime, std::function<void()>> due_;
    bool shutting_down_ = false;
    std::thread thread_;
};

}  // namespace iot
