// MonotonicTimers (issue 15): jobs run in deadline order, on the container's
// own thread, after their delay on the monotonic clock; a container with no
// connection and auto-stop off keeps running them until it is stopped; and
// shutdown() drops what is not due yet.
#include "iot-amqpd/monotonic_timers.hpp"

#include <proton/container.hpp>
#include <proton/messaging_handler.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

namespace iot {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class Driver final : public proton::messaging_handler {
public:
    void on_container_start(proton::container& container) override {
        container_thread = std::this_thread::get_id();
        started = Clock::now();
        timers = std::make_unique<MonotonicTimers>(container);
        timers->schedule(Millis(60), [this, &container] {
            record(3);
            container.stop();
        });
        timers->schedule(Millis(10), [this] { record(1); });
        timers->schedule(Millis(30), [this] { record(2); });
        timers->schedule(Millis(60000), [this] { record(99); });  // never due: dropped at shutdown
    }

    void record(int job) {
        order.push_back(job);
        on_container_thread = on_container_thread && std::this_thread::get_id() == container_thread;
        last_at = Clock::now();
    }

    std::unique_ptr<MonotonicTimers> timers;
    std::thread::id container_thread;
    bool on_container_thread = true;
    std::vector<int> order;
    Clock::time_point started, last_at;
};

TEST(MonotonicTimers, JobsRunInDeadlineOrderOnTheContainersThread) {
    Driver driver;
    proton::container container(driver, "monotonic-timers-test");
    container.auto_stop(false);  // no connection at all: only stop() ends run()
    container.run();
    driver.timers.reset();  // before the container goes (the work queue unregisters itself)

    EXPECT_EQ(driver.order, (std::vector<int>{1, 2, 3}));
    EXPECT_TRUE(driver.on_container_thread);
    EXPECT_GE(driver.last_at - driver.started, 60ms);
    EXPECT_LT(driver.last_at - driver.started, 10s);
}

}  // namespace
}  // namespace iot
