// The emulator's cloud behaviours that the daemon meets in production, checked
// against the real daemon (PROTOCOL.md §9.1 item 3, §9.6 item 37): a socket
// silent or stuck during TLS/SASL is closed at the handshake deadline while an
// authenticated daemon connection is not, and `stall group=` stops one consumer
// group's pushes while the daemon's other groups keep flowing.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <string>

#include "delivery_audit.hpp"
#include "fault_verdict.hpp"
#include "scenario.hpp"
#include "wait_until.hpp"

namespace iot::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A TCP client that sends `greeting` (maybe nothing) and then stays silent.
// Owned by the test thread.
class SilentClient {
public:
    SilentClient(std::uint16_t port, const std::string& greeting) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connected_ = fd_ >= 0 && ::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0 &&
                     (greeting.empty() || ::send(fd_, greeting.data(), greeting.size(), MSG_NOSIGNAL) ==
                                              static_cast<ssize_t>(greeting.size()));
    }
    ~SilentClient() {
        if (fd_ >= 0) ::close(fd_);
    }
    SilentClient(const SilentClient&) = delete;
    SilentClient& operator=(const SilentClient&) = delete;

    [[nodiscard]] bool connected() const { return connected_; }
    // Whether the server has closed the socket (end of stream or reset); never blocks.
    [[nodiscard]] bool closed_by_server() const {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 0) <= 0) return false;
        char byte;
        const ssize_t n = ::recv(fd_, &byte, 1, MSG_DONTWAIT);
        return n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR);
    }

private:
    int fd_ = -1;
    bool connected_ = false;
};

TEST(EmulatorFidelity, ASocketSilentDuringTlsOrSaslIsClosedAtTheHandshakeDeadlineTheDaemonIsNot) {
    ScenarioOptions options;
    options.emulator_args = {"--handshake-deadline", "1s"};  // the cloud's is 15 s, the emulator's default
    Scenario scenario(options);
    scenario.config().add_group("line-1", "CG-A", 1);
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready());
    ASSERT_TRUE(scenario.wait_for_links("CG-A", 1));

    const auto started = Clock::now();
    SilentClient silent(scenario.emulator_port(), "");
    // A TLS record header promising a ClientHello that never comes: stuck mid-handshake.
    SilentClient stuck(scenario.emulator_port(), std::string("\x16\x03\x01\x00\xff", 5));
    ASSERT_TRUE(silent.connected() && stuck.connected());
    EXPECT_FALSE(wait_until(
        "a socket closed before the deadline", [&] { return silent.closed_by_server() || stuck.closed_by_server(); },
        500ms, 10ms));
    EXPECT_TRUE(wait_until(
        "the silent socket closed", [&] { return silent.closed_by_server(); }, 5s, 10ms));
    EXPECT_TRUE(wait_until(
        "the stuck socket closed", [&] { return stuck.closed_by_server(); }, 5s, 10ms));
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    EXPECT_NE(scenario.emulator_log().find("handshake_deadline"), std::string::npos) << scenario.emulator_log();

    // The daemon's connection, authenticated long before, is untouched and still delivers.
    scenario.publish("CG-A", 50, "hs-");
    EXPECT_TRUE(emulator_settled(scenario, {"CG-A"}, 50, 15s));
    const auto counters = scenario.counters("CG-A");
    EXPECT_EQ(counters.connections_total, 1) << counters.summary();
    EXPECT_EQ(counters.connections, 1) << counters.summary();
    const auto entries = final_message_entries(scenario, 50, 15s);
    EXPECT_TRUE(exactly_once(audit_delivery(entries, numbered_ids("hs-", 50), scenario.message_identifier())));
    std::printf("[ scenario ] handshake deadline 1 s: silent and stuck sockets closed after %.2f s\n", seconds);
}

TEST(EmulatorFidelity, StallOfOneGroupStopsOnlyItsPushes) {
    constexpr std::size_t kMessages = 200;
    Scenario scenario;
    scenario.config().add_group("stalled", "CG-A", 2);
    scenario.config().add_group("flowing", "CG-B", 1);
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready());
    ASSERT_TRUE(scenario.wait_for_links("CG-A", 2));
    ASSERT_TRUE(scenario.wait_for_links("CG-B", 1));

    const auto reply = scenario.emulator("stall group=CG-A seconds=3");
    EXPECT_EQ(reply["connections"].as_int(), 2) << reply.dump();
    const auto stalled_at = Clock::now();
    scenario.publish("CG-A", kMessages, "st-");
    scenario.publish("CG-B", kMessages, "fl-");
    EXPECT_TRUE(emulator_settled(scenario, {"CG-B"}, kMessages, 2500ms)) << "the other group keeps flowing";
    const auto during = scenario.counters("CG-A");
    const bool still_stalled = Clock::now() - stalled_at < 2900ms;
    if (still_stalled) {
        EXPECT_EQ(during.delivered, 0) << "the stalled group got pushes: " << during.summary();
    }
    EXPECT_TRUE(emulator_settled(scenario, {"CG-A"}, kMessages, 15s)) << "the stalled group resumes";
    EXPECT_GE(Clock::now() - stalled_at, 2900ms);
    const auto counters = scenario.counters("CG-A");
    EXPECT_EQ(counters.connections_total, 2) << "a stall of pushes is no reason to reconnect; " << counters.summary();

    auto expected = numbered_ids("st-", kMessages);
    const auto more = numbered_ids("fl-", kMessages);
    expected.insert(more.begin(), more.end());
    const auto entries = final_message_entries(scenario, expected.size(), 15s);
    EXPECT_TRUE(exactly_once(
        audit_delivery(entries, expected, scenario.message_identifier(), {{"stalled", "CG-A"}, {"flowing", "CG-B"}})));
}

}  // namespace
}  // namespace iot::test
