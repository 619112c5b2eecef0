// TLS and SASL: the daemon refuses an untrusted certificate, a certificate
// for another host name, an expired certificate and a server that does not
// speak TLS at all, each with a clear error naming TLS or the certificate,
// and no message is accepted. And it authenticates with SASL PLAIN only: a
// server that offers ANONYMOUS alone gets no connection from it.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "plain_tcp_server.hpp"
#include "sasl_probe_server.hpp"
#include "scenario.hpp"
#include "wait_until.hpp"

namespace iot::test {
namespace {

using namespace std::chrono_literals;

bool names_tls(const std::string& text) {
    for (const char* word : {"TLS", "SSL", "certificate"}) {
        if (text.find(word) != std::string::npos) return true;
    }
    return false;
}

// The first warning or error the daemon logged about its connection, once it names TLS.
::testing::AssertionResult wait_for_tls_error(Scenario& scenario, std::string& message) {
    return wait_until(
        "a connection error naming TLS or the certificate in the daemon's log",
        [&] {
            for (const auto& entry : scenario.daemon_log()) {
                const auto event = field_or_empty(entry, "IOT_EVENT");
                if (event != "disconnected" && event != "auth_failed" && event != "tls_failed") continue;
                message = field_or_empty(entry, "MESSAGE");
                if (names_tls(message)) return true;
            }
            return false;
        },
        20s, 200ms);
}

void expect_certificate_refused(const std::string& server_cert, const std::vector<std::string>& reason_words) {
    ScenarioOptions options;
    options.server_cert = server_cert;
    Scenario scenario(options);
    scenario.config().add_group("guarded", "CG-A", 1);
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready());
    scenario.publish("CG-A", 50, "tls-");

    std::string message;
    ASSERT_TRUE(wait_for_tls_error(scenario, message));
    bool reason_named = false;
    for (const auto& word : reason_words) reason_named = reason_named || message.find(word) != std::string::npos;
    EXPECT_TRUE(reason_named) << "the error should say why the certificate was refused: " << message;
    const auto counters = scenario.counters("CG-A");
    EXPECT_EQ(counters.auth_ok + counters.auth_failures, 0)
        << "no SASL exchange may happen over a refused TLS session: " << counters.summary();
    EXPECT_EQ(counters.accepted, 0) << counters.summary();
    EXPECT_EQ(counters.delivered, 0) << counters.summary();
    EXPECT_FALSE(static_cast<bool>(scenario.messages().wait_for_count(1, 500ms))) << "no message may reach the journal";
    EXPECT_NE(scenario.notify().last_value("STATUS").value_or("").find("0/1 groups connected"), std::string::npos);
    EXPECT_TRUE(scenario.stop_daemon(SIGTERM, 10s).clean());
    EXPECT_TRUE(scenario.no_secret_leaked());
}

TEST(SecurityTls, UntrustedCertificateIsRefused) {
    expect_certificate_refused("rogue-server", {"certificate verify failed", "unable to get local issuer"});
}

TEST(SecurityTls, HostNameMismatchIsRefused) {
    expect_certificate_refused("wrong-host-server", {"certificate verify failed", "hostname", "host name"});
}

TEST(SecurityTls, ExpiredCertificateIsRefused) {
    expect_certificate_refused("expired-server", {"certificate verify failed", "expired"});
}

TEST(SecurityTls, PlainTcpServerIsRefused) {
    PlainTcpServer plain;
    Scenario scenario;
    scenario.config().endpoint = "amqps://localhost:" + std::to_string(plain.port());
    scenario.config().add_group("plain", "CG-A", 1);
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready());

    std::string message;
    ASSERT_TRUE(wait_for_tls_error(scenario, message));
    ASSERT_FALSE(plain.first_bytes().empty());
    for (const auto& bytes : plain.first_bytes()) {
        EXPECT_TRUE(looks_like_tls_client_hello(bytes)) << "the daemon must open with a TLS ClientHello";
        EXPECT_NE(bytes.rfind("AMQP", 0), 0u) << "the daemon must never speak AMQP in the clear";
    }
    EXPECT_EQ(scenario.messages().entries().size(), 0u);
    EXPECT_TRUE(scenario.stop_daemon(SIGTERM, 10s).clean());
    std::printf("[ scenario ] plain TCP refused: %s\n", message.c_str());
}

TEST(SecurityTls, OnlySaslPlainIsOffered) {
    Scenario scenario;
    // Positive control: the probe does offer ANONYMOUS, and a client that allows it gets in.
    SaslProbeServer probe((scenario.cert_dir() / "server.pem").string(), (scenario.cert_dir() / "server.key").string(),
                          "ANONYMOUS");
    const auto control = probe.connect_with_mechanism("ANONYMOUS", (scenario.cert_dir() / "ca.pem").string());
    ASSERT_EQ(control, "") << "the probe must accept an ANONYMOUS client";
    ASSERT_EQ(probe.authenticated_mechanisms(), std::vector<std::string>{"ANONYMOUS"});

    scenario.config().endpoint = "amqps://localhost:" + std::to_string(probe.port());
    scenario.config().add_group("plain-only", "CG-A", 1);
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready());
    ASSERT_TRUE(wait_until(
        "the daemon's attempt at the probe", [&] { return probe.connections_accepted() >= 2; }, 15s));
    ASSERT_TRUE(wait_until(
        "the daemon to log its failed attempt",
        [&] {
            return !scenario.daemon_events("auth_failed").empty() || !scenario.daemon_events("disconnected").empty();
        },
        15s, 200ms));
    EXPECT_EQ(probe.authenticated_mechanisms(), std::vector<std::string>{"ANONYMOUS"})
        << "the daemon must not authenticate with anything but PLAIN (only the control client may appear)";
    for (const auto& entry : scenario.daemon_log()) {
        const auto event = field_or_empty(entry, "IOT_EVENT");
        if (event == "auth_failed" || event == "disconnected") {
            std::printf("[ scenario ] against a server offering only ANONYMOUS: %s\n",
                        field_or_empty(entry, "MESSAGE").c_str());
            break;
        }
    }

    // And against the emulator (PLAIN only), every attempt was a parsed PLAIN user name.
    Scenario normal;
    normal.config().add_group("plain-only", "CG-A", 1);
    ASSERT_TRUE(normal.start_daemon_and_wait_ready());
    ASSERT_TRUE(wait_until(
        "a link", [&] { return normal.counters("CG-A").links == 1; }, 20s));
    const auto stats = normal.emulator("stats");
    EXPECT_EQ(stats["unauthenticated_opens"].as_int(), 0) << "an Open without SASL reached the emulator";
    EXPECT_EQ(stats["auth_failures_unparsed"].as_int(), 0) << "a SASL attempt without a PLAIN user name";
    EXPECT_EQ(normal.counters("CG-A").auth_ok, 1);
    EXPECT_TRUE(normal.stop_daemon(SIGTERM, 10s).clean());
    EXPECT_TRUE(scenario.stop_daemon(SIGTERM, 10s).clean());
}

}  // namespace
}  // namespace iot::test
