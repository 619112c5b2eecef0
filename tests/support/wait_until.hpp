// Polling a condition with a bounded deadline: the tests' only way to wait
// (no sleep-and-hope).
//
// Stateless; call from any thread.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

namespace iot::test {

using Millis = std::chrono::milliseconds;

// Calls `predicate` every `poll_interval` until it returns true or `timeout`
// has passed (it is always called at least once, and once more at the
// deadline). Converts to true on success; on failure its message says what
// was awaited and for how long, so ASSERT_TRUE(wait_until(...)) reads well.
[[nodiscard]] ::testing::AssertionResult wait_until(std::string_view what, const std::function<bool()>& predicate,
                                                    Millis timeout, Millis poll_interval = Millis{20});

// Whole seconds and milliseconds for failure messages: "2.500 s".
[[nodiscard]] std::string format_seconds(std::chrono::steady_clock::duration duration);

}  // namespace iot::test
