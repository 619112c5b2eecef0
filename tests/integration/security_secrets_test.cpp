// Secrets: the daemon runs with a distinctive AccessKey secret and an STS
// security token (auth_mode: ststoken, security_token_file, HMAC-SHA1) through
// an authentication failure, connects, reloads (valid and invalid), logs at
// trace level, runs with PN_TRACE_FRM=1 in its environment (which it must
// clear, with a warning), crashes (SIGSEGV, SIGABRT) and reports
// `--check-config` errors. Then neither the secret, nor the token, nor any
// SASL password it sent (computed for every timestamp the emulator saw it
// sign, and for every millisecond of the run) may appear in its journal
// entries, its stdout and stderr, the message entries, STATUS= and the other
// notify datagrams, the metrics file, or any file in the test's directory
// other than the secret files themselves.

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "daemon_launch.hpp"
#include "fault_verdict.hpp"
#include "journal_reader.hpp"
#include "sanitizer_build.hpp"
#include "scenario.hpp"
#include "secret_scan.hpp"
#include "temp_dir.hpp"
#include "wait_until.hpp"

namespace iot::test {
namespace {

using namespace std::chrono_literals;

std::string random_text(std::size_t length) {
    static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    std::mt19937_64 engine{std::random_device{}()};
    std::string text;
    for (std::size_t i = 0; i < length; ++i) text += alphabet[engine() % (sizeof alphabet - 1)];
    return text;
}

// Our own tenant for the emulator: an AccessKey with a distinctive secret and
// an STS token. The scenario passes its own --accounts first; the emulator's
// option parser keeps the last one, ours.
struct Tenant {
    std::string access_key_id = "LTAI5tSEC" + random_text(12);
    std::string secret = "SeCrEt" + random_text(30);
    std::string token = "STS.NeW" + random_text(48);
    std::string wrong_token = "STS.OlD" + random_text(48);
};

std::string accounts_yaml(const Tenant& tenant) {
    return "consumer_groups: [\"CG-A\", \"CG-B\"]\n"
           "accounts:\n"
           "  - access_key_id: " +
           yaml_quote(tenant.access_key_id) + "\n" + "    access_key_secret: " + yaml_quote(tenant.secret) + "\n" +
           "    security_tokens: [" + yaml_quote(tenant.token) + "]\n" + "    consumer_groups: [\"CG-A\", \"CG-B\"]\n";
}

std::string entries_text(const std::vector<JournalEntry>& entries) {
    std::string text;
    for (const auto& entry : entries) {
        for (const auto& [field, value] : entry) text += field + "=" + value + "\n";
    }
    return text;
}

bool has_event(const std::vector<JournalEntry>& entries, const std::string& event) {
    for (const auto& entry : entries) {
        if (field_or_empty(entry, "IOT_EVENT") == event) return true;
    }
    return false;
}

TEST(SecuritySecrets, NoCredentialInAnyOutputThroughFailureReloadTraceAndCrash) {
    const auto started = std::chrono::steady_clock::now();
    const auto wall_start = wall_clock_now_ms();
    const Tenant tenant;
    TempDir tenant_dir("iot-tenant");
    const auto accounts = tenant_dir / "accounts.yaml";
    write_file(accounts, accounts_yaml(tenant));

    ScenarioOptions options;
    options.emulator_args = {"--accounts", accounts.string()};
    options.consumer_group_ids = {"CG-A", "CG-B"};
    Scenario scenario(options);
    scenario.write_secret(tenant.secret);
    const auto token_file = scenario.dir() / "sts-token";
    write_file(token_file, tenant.wrong_token + "\n");
    const auto metrics_file = scenario.dir() / "metrics.prom";
    auto& config = scenario.config();
    config.access_key_id = tenant.access_key_id;
    config.extra_default_lines = {"auth_mode: ststoken", "security_token_file: " + yaml_quote(token_file.string()),
                                  "sign_method: hmacsha1"};
    config.add_group("sec-a", "CG-A", 1);
    config.add_group("sec-b", "CG-B", 2);
    const std::string metrics_yaml =
        "metrics:\n  textfile: " + yaml_quote(metrics_file.string()) + "\n  interval: 1s\n";
    scenario.write_config_text(config.to_yaml() + metrics_yaml);
    std::vector<pid_t> pids;

    // ---- run 1: trace logging, core dumps allowed; a wrong token first ----
    DaemonLaunch traced;
    traced.name = "daemon-trace";
    traced.extra_args = {"--log-level", "trace"};
    traced.allow_core_dump = true;
    auto launched_at = std::chrono::steady_clock::now();
    auto daemon = launch_daemon(scenario, traced);
    pids.push_back(daemon->pid());
    ASSERT_TRUE(wait_ready_since(scenario, *daemon, launched_at));
    ASSERT_TRUE(wait_until(
        "the wrong token refused", [&] { return scenario.counters("CG-A").auth_failures >= 1; }, 15s));
    ASSERT_TRUE(wait_until(
        "the auth_failed error", [&] { return has_event(daemon_log_of(pids), "auth_failed"); }, 10s, 200ms));

    // The right token, and a credit change so the groups reconnect now rather than after the 30 s backoff.
    write_file(token_file, tenant.token + "\n");
    config.credit = 50;
    scenario.write_config_text(config.to_yaml() + metrics_yaml);
    ASSERT_TRUE(reload_daemon(scenario, *daemon));
    ASSERT_TRUE(wait_until(
        "both groups linked",
        [&] { return scenario.counters("CG-A").links == 1 && scenario.counters("CG-B").links == 2; }, 20s));
    scenario.publish("CG-A", 200, "sec-a-", "kind=mixed");
    scenario.publish("CG-B", 200, "sec-b-", "kind=mixed");
    EXPECT_TRUE(emulator_settled(scenario, {"CG-A", "CG-B"}, 200, 30s));

    // An invalid reload: its errors are printed, the running config kept.
    scenario.write_config_text(config.to_yaml() + metrics_yaml + "bogus_top_level_key: 1\n");
    ASSERT_TRUE(reload_daemon(scenario, *daemon));
    ASSERT_TRUE(wait_until(
        "the reload_failed error", [&] { return has_event(daemon_log_of(pids), "reload_failed"); }, 10s, 200ms));
    scenario.write_config_text(config.to_yaml() + metrics_yaml);
    ASSERT_TRUE(wait_until(
        "the metrics file", [&] { return read_file(metrics_file).has_value(); }, 10s));

    // A crash. (ASan turns a SIGSEGV into its own report and exit 1; under it, abort instead.)
    const int crash_signal = kSanitizerBuild ? SIGABRT : SIGSEGV;
    daemon->signal(crash_signal);
    const auto crashed = daemon->wait_or_kill(10s);
    EXPECT_EQ(crashed.signal, crash_signal) << crashed.to_string();

    // The crash left no core behind: the daemon is not dumpable (its memory holds the secret).
    const auto core_files = [&] {
        std::vector<std::string> cores;
        for (const auto& entry : std::filesystem::directory_iterator(scenario.dir().path())) {
            if (entry.path().filename().string().rfind("core", 0) == 0) cores.push_back(entry.path().string());
        }
        return cores;
    };
    if (core_dumps_land_in_cwd()) {
        EXPECT_TRUE(core_files().empty()) << "the crash wrote a core file: " << core_files().front();
    } else {
        std::printf("[ scenario ] note: core_pattern pipes cores elsewhere; the no-core check did not run\n");
    }

    // ---- run 2: PN_TRACE_FRM=1 in the environment; it must be cleared, with a warning ----
    DaemonLaunch frame_traced;
    frame_traced.name = "daemon-pntrace";
    frame_traced.extra_env = {{"PN_TRACE_FRM", "1"}, {"PN_TRACE_RAW", "1"}};
    frame_traced.allow_core_dump = true;
    launched_at = std::chrono::steady_clock::now();
    auto second = launch_daemon(scenario, frame_traced);
    pids.push_back(second->pid());
    ASSERT_TRUE(wait_ready_since(scenario, *second, launched_at));
    scenario.publish("CG-A", 100, "sec-a2-", "kind=mixed");
    EXPECT_TRUE(emulator_settled(scenario, {"CG-A"}, 300, 30s)) << "the daemon must still connect and deliver";
    const auto second_log = daemon_log_of({second->pid()});
    EXPECT_TRUE(has_event(second_log, "trace_refused")) << "PN_TRACE_FRM must be refused with a warning";
    second->signal(SIGABRT);
    const auto aborted = second->wait_or_kill(10s);
    EXPECT_EQ(aborted.signal, SIGABRT) << aborted.to_string();

    // ---- --check-config with errors around the secrets ----
    scenario.write_config_text(config.to_yaml() + metrics_yaml + "  access_key_secret: " + yaml_quote(tenant.secret) +
                               "\n");  // a stray key in metrics:, holding the secret
    std::string check_output;
    EXPECT_EQ(scenario.check_config(&check_output).code, 78) << check_output;
    auto inline_config = config;
    inline_config.extra_default_lines.push_back("access_key_secret: " + yaml_quote(tenant.secret));  // two sources
    inline_config.extra_default_lines.push_back("security_token: " + yaml_quote(tenant.token));      // unknown key
    scenario.write_config_text(inline_config.to_yaml() + metrics_yaml);
    std::string second_check;
    EXPECT_EQ(scenario.check_config(&second_check).code, 78) << second_check;
    write_file(scenario.dir() / "check-config-2.out", second_check);
    // Leave the valid config on disk: the scan below reads every file but the secret files.
    scenario.write_config_text(config.to_yaml() + metrics_yaml);

    // ---- the scan ----
    SecretMaterial material;
    material.access_key_id = tenant.access_key_id;
    material.access_key_secrets = {tenant.secret};
    material.security_tokens = {tenant.token, tenant.wrong_token};
    material.sign_method = SignMethod::hmacsha1;
    material.window_from_ms = wall_start - 5000;
    material.window_to_ms = wall_clock_now_ms() + 5000;
    const auto timestamps = signed_timestamps(scenario.emulator_log());
    ASSERT_GE(timestamps.size(), 4u) << "the emulator should have logged every signed attempt";
    LeakScanner scanner(material, passwords_for(material, timestamps));
    // The scanner can fail: a password for a logged timestamp is found, both
    // as a known password and by the brute force over the window.
    {
        const auto first = *timestamps.begin();
        const auto one = passwords_for(material, {first});
        ASSERT_FALSE(one.empty());
        LeakScanner known(material, one);
        EXPECT_TRUE(known.find_leak("self-check", "x " + *one.begin() + " y").has_value());
        SecretMaterial narrow = material;
        narrow.window_from_ms = narrow.window_to_ms = first;
        LeakScanner brute_force(narrow, {});
        EXPECT_TRUE(brute_force.find_leak("self-check", "x " + *one.begin() + " y").has_value());
        EXPECT_TRUE(known.find_leak("self-check", "token " + tenant.token.substr(5, 20)).has_value());
    }

    std::vector<std::string> findings;
    const auto scan = [&](const std::string& where, const std::string& text) {
        if (auto found = scanner.find_leak(where, text)) findings.push_back(*found);
    };
    scan("the daemon's journal entries", entries_text(daemon_log_of(pids)));
    scan("the daemon's stderr stream (run 1)",
         entries_text(JournalReader::read_all(by_identifier(stderr_identifier(scenario, traced)))));
    scan("the daemon's stderr stream (run 2)",
         entries_text(JournalReader::read_all(by_identifier(stderr_identifier(scenario, frame_traced)))));
    scan("the message entries", entries_text(JournalReader::read_all(by_identifier(scenario.message_identifier()))));
    std::string notify_text;
    for (const auto& datagram : scenario.notify().datagrams()) notify_text += datagram.text + "\n";
    scan("the notify datagrams (STATUS= and the rest)", notify_text);
    scan("--check-config output", check_output + second_check);
    const auto file_findings = scanner.find_leaks_in_files(scenario.dir().path(), {scenario.secret_path(), token_file});
    findings.insert(findings.end(), file_findings.begin(), file_findings.end());
    std::string all;
    for (const auto& finding : findings) all += "\n  " + finding;
    EXPECT_TRUE(findings.empty()) << "credentials leaked:" << all;

    // What was scanned is real: trace logging produced output, frames were not traced.
    const auto run1 = daemon_log_of({pids[0]});
    std::size_t trace_lines = 0;
    for (const auto& entry : run1) trace_lines += field_or_empty(entry, "PRIORITY") == "7" ? 1 : 0;
    EXPECT_GT(trace_lines, 0u) << "--log-level trace should log debug/trace lines";
    const auto stream2 =
        entries_text(JournalReader::read_all(by_identifier(stderr_identifier(scenario, frame_traced))));
    EXPECT_EQ(stream2.find("sasl-init"), std::string::npos) << "proton traced SASL frames despite the refusal";
    EXPECT_EQ(stream2.find("@open"), std::string::npos) << "proton traced AMQP frames despite the refusal";
    EXPECT_TRUE(read_file(metrics_file).has_value());
    EXPECT_TRUE(scenario.no_secret_leaked());
    std::printf("[ scenario ] secrets: %zu signed attempts checked, %zu daemon log entries, %.1f s\n",
                timestamps.size(), run1.size(),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
}

}  // namespace
}  // namespace iot::test
