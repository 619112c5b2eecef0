// Which CAs a group trusts (tls_client_options.hpp): with tls.ca_file, that
// file and nothing else, not even a system store that would vouch for the
// server; without it, the system store as OpenSSL finds it (SSL_CERT_FILE,
// SSL_CERT_DIR or the compiled-in defaults), read from the hashed directory
// when there is one. The test CA stands in for a system CA by way of those
// two variables, set for the daemon alone.

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "daemon_launch.hpp"
#include "fault_verdict.hpp"
#include "scenario.hpp"
#include "temp_dir.hpp"
#include "test_certs.hpp"
#include "wait_until.hpp"

namespace iot::test {
namespace {

using namespace std::chrono_literals;
using Environment = std::vector<std::pair<std::string, std::string>>;

// A directory laid out as `openssl rehash` leaves /etc/ssl/certs: the CA under
// <subject hash>.0, the name OpenSSL's directory lookup asks for.
void put_hashed(const std::string& ca_pem, const std::filesystem::path& dir) {
    std::FILE* file = std::fopen(ca_pem.c_str(), "r");
    ASSERT_NE(file, nullptr) << ca_pem;
    X509* ca = PEM_read_X509(file, nullptr, nullptr, nullptr);
    (void)std::fclose(file);
    ASSERT_NE(ca, nullptr) << ca_pem;
    char name[32];
    (void)std::snprintf(name, sizeof(name), "%08lx.0", X509_subject_name_hash(ca));
    X509_free(ca);
    std::filesystem::copy_file(ca_pem, dir / name);
}

std::unique_ptr<Subprocess> start(Scenario& scenario, const std::string& ca_file, Environment env) {
    scenario.config().ca_file = ca_file;
    scenario.config().add_group("trusting", "CG-A");
    scenario.write_config();
    DaemonLaunch launch;
    launch.name = "trust";
    // As under systemd, whatever the test runner exports: OpenSSL's defaults
    // (the same as unset), then what the case sets.
    launch.extra_env = {{"SSL_CERT_FILE", X509_get_default_cert_file()}, {"SSL_CERT_DIR", X509_get_default_cert_dir()}};
    for (auto& variable : env) launch.extra_env.push_back(std::move(variable));
    const auto launched_at = std::chrono::steady_clock::now();
    auto daemon = launch_daemon(scenario, launch);
    EXPECT_TRUE(wait_ready_since(scenario, *daemon, launched_at));
    return daemon;
}

// The daemon's first connection error, for a failure message.
std::string first_disconnect(Subprocess& daemon) {
    for (const auto& entry : daemon_log_of({daemon.pid()})) {
        if (field_or_empty(entry, "IOT_EVENT") == "disconnected") return field_or_empty(entry, "MESSAGE");
    }
    return "(no connection error logged)";
}

::testing::AssertionResult delivers(Scenario& scenario, Subprocess& daemon) {
    scenario.publish("CG-A", 5, "trust-");
    auto settled = emulator_settled(scenario, {"CG-A"}, 5, 20s);
    if (!settled) settled << "; the daemon said: " << first_disconnect(daemon);
    return settled;
}

::testing::AssertionResult refuses(Scenario& scenario, Subprocess& daemon) {
    scenario.publish("CG-A", 5, "trust-");
    std::string message;
    auto refused = wait_until(
        "a TLS failure in the daemon's log",
        [&] {
            for (const auto& entry : daemon_log_of({daemon.pid()})) {
                if (field_or_empty(entry, "IOT_EVENT") != "disconnected") continue;
                message = field_or_empty(entry, "MESSAGE");
                if (message.find("TLS") != std::string::npos) return true;
            }
            return false;
        },
        20s, 200ms);
    if (!refused) return refused;
    const auto counters = scenario.counters("CG-A");
    if (counters.auth_ok + counters.auth_failures + counters.accepted > 0)
        return ::testing::AssertionFailure() << "the server was trusted after all: " << counters.summary();
    return ::testing::AssertionSuccess() << message;
}

void stop(std::unique_ptr<Subprocess>& daemon) {
    daemon->signal(SIGTERM);
    EXPECT_TRUE(daemon->wait_or_kill(10s).clean());
}

TEST(TlsTrust, CaFileIsTheOnlyTrustEvenWhenTheSystemStoreWouldVouch) {
    Scenario scenario;
    TempDir hashed("iot-trust");
    put_hashed(test_certs().ca, hashed.path());
    auto daemon = start(scenario, test_certs().rogue_ca,
                        {{"SSL_CERT_FILE", test_certs().ca}, {"SSL_CERT_DIR", hashed.path().string()}});
    const auto verdict = refuses(scenario, *daemon);
    EXPECT_TRUE(verdict);
    std::printf("[ scenario ] ca_file = rogue CA, system store = the server's CA: %s\n", verdict.message());
    stop(daemon);
}

TEST(TlsTrust, SystemStoreFromTheHashedDirectory) {
    Scenario scenario;
    TempDir hashed("iot-trust");
    put_hashed(test_certs().ca, hashed.path());
    auto daemon = start(scenario, "", {{"SSL_CERT_DIR", hashed.path().string()}});
    EXPECT_TRUE(delivers(scenario, *daemon));
    stop(daemon);
}

TEST(TlsTrust, SystemStoreFromTheOperatorsBundle) {
    Scenario scenario;
    auto daemon = start(scenario, "", {{"SSL_CERT_FILE", test_certs().ca}});
    EXPECT_TRUE(delivers(scenario, *daemon));
    stop(daemon);
}

// The host's own store (OpenSSL's defaults) does not hold the test CA.
TEST(TlsTrust, SystemStoreWithoutTheServersCaRefuses) {
    Scenario scenario;
    auto daemon = start(scenario, "", {});
    EXPECT_TRUE(refuses(scenario, *daemon));
    stop(daemon);
}

}  // namespace
}  // namespace iot::test
