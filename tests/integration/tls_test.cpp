// TLS: a server whose certificate the configured CA did not sign, one that
// has expired, and one issued for another host name are all refused before
// any credentials are sent (the emulator never sees a SASL attempt), the
// daemon says why and keeps retrying; and the host-name case connects once
// verify_hostname is turned off, so the refusal was for the name alone.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <ostream>
#include <string>

#include "delivery_audit.hpp"
#include "scenario.hpp"
#include "wait_until.hpp"

namespace iot::test {
namespace {

using namespace std::chrono_literals;

struct UntrustedServer {
    const char* cert;  // file stem from make-test-certs.sh
    const char* why;
};

// How gtest shows the parameter ("GetParam() = ..." in listings and failures)
// instead of the struct's bytes.
void PrintTo(const UntrustedServer& server, std::ostream* out) { *out << server.cert << " (" << server.why << ")"; }

class Tls : public ::testing::TestWithParam<UntrustedServer> {};

TEST_P(Tls, UntrustedServerIsRefusedBeforeAnyCredentialIsSent) {
    const auto started = std::chrono::steady_clock::now();
    ScenarioOptions options;
    options.server_cert = GetParam().cert;
    Scenario scenario(options);
    scenario.config().add_group("secure", "CG-A");
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready());
    scenario.publish("CG-A", 10, "tls-");

    ASSERT_TRUE(scenario.wait_for_event("disconnected", 1, 15s));
    const auto failures = scenario.daemon_events("disconnected");
    const auto text = field_or_empty(failures.front(), "MESSAGE");
    EXPECT_NE(text.find("TLS"), std::string::npos) << "the log should say it is a TLS failure: " << text;
    EXPECT_EQ(field_or_empty(failures.front(), "IOT_CONSUMER_GROUP"), "secure");

    // Give it time for a retry (reconnect delays are 100 ms .. 1 s here).
    EXPECT_FALSE(wait_until(
        "any SASL attempt at the untrusted server",
        [&] {
            const auto counters = scenario.counters("CG-A");
            return counters.auth_ok + counters.auth_failures > 0 || counters.delivered > 0;
        },
        3s, 200ms))
        << "credentials went to a server that failed verification: " << scenario.counters("CG-A").summary();
    EXPECT_TRUE(scenario.daemon()->running()) << "a TLS failure is retried, not fatal";
    EXPECT_TRUE(scenario.messages().entries().empty());

    EXPECT_TRUE(scenario.stop_daemon(SIGTERM, 10s).clean());
    EXPECT_TRUE(scenario.no_secret_leaked());
    std::printf("[ scenario ] TLS %s: 0 of 10 messages (refused as expected), %.1f s\n", GetParam().why,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
}

INSTANTIATE_TEST_SUITE_P(Servers, Tls,
                         ::testing::Values(UntrustedServer{"rogue-server", "signed by an unknown CA"},
                                           UntrustedServer{"expired-server", "expired"},
                                           UntrustedServer{"wrong-host-server", "issued for another host"}),
                         [](const auto& param_info) {
                             std::string name = param_info.param.cert;
                             for (auto& c : name) {
                                 if (c == '-') c = '_';
                             }
                             return name;
                         });

TEST(TlsHostName, WrongHostConnectsOnlyWithVerifyHostnameOff) {
    const auto started = std::chrono::steady_clock::now();
    ScenarioOptions options;
    options.server_cert = "wrong-host-server";
    Scenario scenario(options);
    scenario.config().verify_hostname = false;
    scenario.config().add_group("lenient", "CG-A");
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready());
    scenario.publish("CG-A", 10, "host-");
    ASSERT_TRUE(scenario.wait_all_accepted({"CG-A"}, 20s));
    ASSERT_TRUE(scenario.messages().wait_for_count(10, 10s));
    EXPECT_TRUE(
        exactly_once(audit_delivery(JournalReader::read_all(by_identifier(scenario.message_identifier())),
                                    numbered_ids("host-", 10), scenario.message_identifier(), {{"lenient", "CG-A"}})));
    EXPECT_TRUE(scenario.stop_daemon(SIGTERM, 10s).clean());
    std::printf("[ scenario ] TLS wrong host, verify_hostname off: 10 messages, %.1f s\n",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
}

}  // namespace
}  // namespace iot::test
