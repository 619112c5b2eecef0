#include "iot-amqpd/health.hpp"

#include <time.h>

namespace iot {
namespace {

std::int64_t clock_ms(clockid_t clock) {
    timespec ts{};
    ::clock_gettime(clock, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace

std::int64_t monotonic_ms() { return clock_ms(CLOCK_MONOTONIC); }
std::int64_t wall_clock_ms() { return clock_ms(CLOCK_REALTIME); }

void GroupHealth::set_problem(std::string text) {
    std::lock_guard<std::mutex> lock(mutex_);
    problem_ = std::move(text);
}

std::string GroupHealth::problem() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return problem_;
}

}  // namespace iot
