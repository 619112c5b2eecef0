// STOPPING=1 exactly once on every way out (issue 15: it was sent by hand from
// four places, and a path that forgot it would have gone unnoticed).
#include "iot-amqpd/stopping_notice.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace iot {
namespace {

class RecordingNotifier final : public Notifier {
public:
    void notify(const std::string& state) override { sent.push_back(state); }
    [[nodiscard]] std::optional<std::chrono::microseconds> watchdog_interval() const override { return {}; }
    std::vector<std::string> sent;
};

TEST(StoppingNotice, TheFirstReasonIsSentOnce) {
    RecordingNotifier notifier;
    {
        StoppingNotice stopping(notifier);
        stopping.send("invalid configuration: x");
        stopping.send("stopping: again");
        EXPECT_TRUE(stopping.sent());
    }
    EXPECT_EQ(notifier.sent, (std::vector<std::string>{"STOPPING=1\nSTATUS=invalid configuration: x"}));
}

TEST(StoppingNotice, AnyOtherWayOutStillSendsIt) {
    RecordingNotifier notifier;
    try {
        StoppingNotice stopping(notifier);
        throw std::runtime_error("an exception unwinding main");
    } catch (const std::runtime_error&) {}
    ASSERT_EQ(notifier.sent.size(), 1u);
    EXPECT_EQ(notifier.sent.front().rfind("STOPPING=1\n", 0), 0u);
}

}  // namespace
}  // namespace iot
