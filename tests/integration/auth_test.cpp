// Authentication failure: a wrong AccessKey secret gives one clear error
// (IOT_EVENT=auth_failed, naming the likely causes), the next attempt comes
// no sooner than 30 s later, no secret appears anywhere, and fixing the
// secret file plus SIGHUP connects and delivers what queued meanwhile.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <sstream>
#include <string>
#include <vector>

#include "delivery_audit.hpp"
#include "scenario.hpp"
#include "temp_dir.hpp"
#include "wait_until.hpp"

namespace iot::test {
namespace {

using namespace std::chrono_literals;

// Wall-clock milliseconds of every "event=<event>" line in the emulator's log
// ("2026-11-26T08:47:10.123Z event=auth_failed code=0 ...").
std::vector<std::int64_t> emulator_event_times(const std::string& log, const std::string& event) {
    std::vector<std::int64_t> times;
    std::istringstream lines(log);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.find(" event=" + event + " ") == std::string::npos) continue;
        std::tm tm{};
        int millis = 0;
        if (std::sscanf(line.c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                        &tm.tm_min, &tm.tm_sec, &millis) != 7) {
            continue;
        }
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        times.push_back(static_cast<std::int64_t>(::timegm(&tm)) * 1000 + millis);
    }
    return times;
}

TEST(Auth, WrongSecretBacksOffThirtySecondsThenReloadWithTheRightOneDelivers) {
    constexpr std::size_t kMessages = 300;
    const auto started = std::chrono::steady_clock::now();
    Scenario scenario;
    const std::string correct = scenario.correct_secret();
    scenario.write_secret("wrong-" + scenario.run_id() + "-c0ffee0123456789");
    scenario.config().add_group("plant", "CG-A", 1);
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready()) << "READY=1 must not wait for the cloud";

    ASSERT_TRUE(wait_until(
        "the first refused attempt", [&] { return scenario.counters("CG-A").auth_failures >= 1; }, 15s));
    ASSERT_TRUE(scenario.wait_for_event("auth_failed", 1, 10s));
    scenario.publish("CG-A", kMessages, "auth-", "kind=mixed");

    // The second attempt, still with the wrong secret: not before 30 s.
    ASSERT_TRUE(wait_until(
        "the second attempt", [&] { return scenario.counters("CG-A").auth_failures >= 2; }, 45s));
    const auto failures = emulator_event_times(scenario.emulator_log(), "auth_failed");
    ASSERT_GE(failures.size(), 2u) << scenario.emulator_log();
    const auto gap_ms = failures[1] - failures[0];
    EXPECT_GE(gap_ms, 30'000 - 20) << "an authentication failure must back off at least 30 s";
    EXPECT_LE(gap_ms, 45'000);

    // One clear error, not one per attempt.
    const auto errors = scenario.daemon_events("auth_failed");
    ASSERT_EQ(errors.size(), 1u) << "repeats of the same failure must not flood the journal";
    EXPECT_EQ(field_or_empty(errors[0], "PRIORITY"), "3");
    EXPECT_EQ(field_or_empty(errors[0], "IOT_CONSUMER_GROUP"), "plant");
    const auto text = field_or_empty(errors[0], "MESSAGE");
    for (const char* cause : {"secret", "consumer_group_id", "iot_instance_id", "iot:sub", "clock"}) {
        EXPECT_NE(text.find(cause), std::string::npos)
            << "the error should name the likely cause '" << cause << "': " << text;
    }
    EXPECT_EQ(scenario.counters("CG-A").auth_ok, 0);

    // Fix the secret and reload.
    scenario.write_secret(correct);
    ASSERT_TRUE(scenario.reload());
    ASSERT_TRUE(scenario.wait_for_event("connected", 1, 15s));
    ASSERT_TRUE(scenario.wait_all_accepted({"CG-A"}, 30s));
    ASSERT_TRUE(scenario.messages().wait_for_count(kMessages, 30s));
    const auto entries = JournalReader::read_all(by_identifier(scenario.message_identifier()));
    EXPECT_TRUE(exactly_once(
        audit_delivery(entries, numbered_ids("auth-", kMessages), scenario.message_identifier(), {{"plant", "CG-A"}})));
    const auto counters = scenario.counters("CG-A");
    EXPECT_EQ(counters.auth_failures, 2) << counters.summary();
    EXPECT_GE(counters.auth_ok, 1) << counters.summary();

    EXPECT_TRUE(scenario.stop_daemon(SIGTERM, 10s).clean());
    EXPECT_TRUE(scenario.no_secret_leaked());
    std::printf("[ scenario ] auth: %zu messages, attempts %.1f s apart, %.1f s\n", kMessages,
                static_cast<double>(gap_ms) / 1000.0,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
}

// RAM roles: the STS token file is re-read before every attempt, but after a
// refused login the group waits 30 s; a reload after the token file changed
// must restart the group at once (its token's digest is part of its identity).
TEST(Auth, AReloadAfterTheTokenFileChangedConnectsAtOnceWithTheNewToken) {
    constexpr std::size_t kMessages = 200;
    ScenarioOptions options;
    const std::string stale = "sts-stale-" + std::to_string(std::time(nullptr)) + "-0123456789abcdef";
    const std::string fresh = "sts-fresh-" + std::to_string(std::time(nullptr)) + "-fedcba9876543210";
    options.security_tokens = {fresh};
    Scenario scenario(options);
    const auto token_file = scenario.dir().path() / "sts-token";
    write_file(token_file, stale + "\n", std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    auto& group = scenario.config().add_group("ram", "CG-A", 1);
    group.extra_lines = {"auth_mode: ststoken", "security_token_file: " + token_file.string()};
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready());
    ASSERT_TRUE(wait_until(
        "the refused attempt with the stale token", [&] { return scenario.counters("CG-A").auth_failures >= 1; }, 15s));
    ASSERT_TRUE(scenario.wait_for_event("auth_failed", 1, 10s));
    scenario.publish("CG-A", kMessages, "sts-", "kind=mixed");

    write_file(token_file, fresh + "\n", std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    const auto reloaded = std::chrono::steady_clock::now();
    ASSERT_TRUE(scenario.reload());
    ASSERT_TRUE(wait_until(
        "a login with the new token", [&] { return scenario.counters("CG-A").auth_ok >= 1; }, 10s))
        << "the group must not sit out its 30 s back-off after a reload changed its token file";
    const double waited_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - reloaded).count();
    ASSERT_TRUE(scenario.wait_all_accepted({"CG-A"}, 30s));
    ASSERT_TRUE(scenario.messages().wait_for_count(kMessages, 30s));
    const auto entries = JournalReader::read_all(by_identifier(scenario.message_identifier()));
    EXPECT_TRUE(exactly_once(
        audit_delivery(entries, numbered_ids("sts-", kMessages), scenario.message_identifier(), {{"ram", "CG-A"}})));
    EXPECT_EQ(scenario.counters("CG-A").auth_failures, 1) << "no second attempt with the stale token";

    EXPECT_TRUE(scenario.stop_daemon(SIGTERM, 10s).clean());
    for (const auto& entry : scenario.daemon_log()) {
        for (const auto& [name, value] : entry) {
            EXPECT_EQ(value.find(stale), std::string::npos) << "the stale token in " << name;
            EXPECT_EQ(value.find(fresh), std::string::npos) << "the token in " << name;
        }
    }
    EXPECT_TRUE(scenario.no_secret_leaked());
    std::printf("[ scenario ] STS token changed + reload: connected %.2f s after the reload, %zu messages\n", waited_s,
                kMessages);
}

}  // namespace
}  // namespace iot::test
