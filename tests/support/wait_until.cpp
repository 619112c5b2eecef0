#include "wait_until.hpp"

#include <cstdio>
#include <thread>

namespace iot::test {

::testing::AssertionResult wait_until(std::string_view what, const std::function<bool()>& predicate, Millis timeout,
                                      Millis poll_interval) {
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + timeout;
    for (;;) {
        if (predicate()) return ::testing::AssertionSuccess();
        const auto now = std::chrono::steady_clock::now();
        if (now >= deadline) break;
        std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(poll_interval, deadline - now));
    }
    // The condition may have become true during the last sleep.
    if (predicate()) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "timed out after " << format_seconds(timeout) << " waiting for: " << what;
}

std::string format_seconds(std::chrono::steady_clock::duration duration) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(duration).count();
    char text[48];
    std::snprintf(text, sizeof text, "%lld.%03lld s", static_cast<long long>(ms / 1000),
                  static_cast<long long>(ms < 0 ? -(ms % 1000) : ms % 1000));
    return text;
}

}  // namespace iot::test
