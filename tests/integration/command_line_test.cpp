// Command line and ways out (issue 15 item 3): --log-level is
// case-insensitive like log.level, and survives a reload; STOPPING=1 is sent
// exactly once on each way out, whatever the exit code.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "scenario.hpp"
#include "wait_until.hpp"

namespace iot::test {
namespace {

using namespace std::chrono_literals;

TEST(CommandLine, LogLevelIsCaseInsensitiveLikeTheConfigs) {
    Scenario scenario;
    scenario.config().add_group("a", "CG-A");
    scenario.write_config();
    for (const char* level : {"DEBUG", "Warn", "info"}) {
        SpawnOptions spawn;
        spawn.program = daemon_program();
        spawn.args = {"--check-config", "-c", scenario.config_path().string(), "--log-level", level};
        spawn.removed_env = {"NOTIFY_SOCKET", "WATCHDOG_USEC", "JOURNAL_STREAM"};
        spawn.stdout_file = scenario.dir() / "check.out";
        spawn.stderr_file = scenario.dir() / "check.out";
        Subprocess check(spawn);
        const auto status = check.wait_or_kill(30s);
        EXPECT_TRUE(status.clean()) << "--log-level " << level << ": " << status.to_string() << "\n"
                                    << check.stdout_text();
    }
}

// The daemon logs every connection attempt at debug ("connecting"): with
// --log-level debug those lines must go on after a reload of a file that
// says log.level info (the reload used to install the file's level).
TEST(CommandLine, LogLevelFromTheCommandLineSurvivesAReload) {
    Scenario scenario;
    scenario.config().add_group("a", "CG-A");
    scenario.write_config();
    (void)scenario.start_daemon({"--log-level", "debug"});
    ASSERT_TRUE(scenario.notify().wait_for("READY=1", 15s));
    ASSERT_TRUE(scenario.wait_for_links("CG-A", 1));
    ASSERT_TRUE(scenario.wait_for_event("connecting", 1, 10s)) << "--log-level debug shows each attempt";

    ASSERT_TRUE(scenario.reload());
    const std::size_t before = scenario.daemon_events("connecting").size();
    ASSERT_EQ(scenario.emulator("drop")["dropped"].as_int(), 1);
    ASSERT_TRUE(scenario.wait_for_links("CG-A", 1));
    EXPECT_TRUE(scenario.wait_for_event("connecting", before + 1, 10s))
        << "after the reload the daemon logs at the file's level instead of --log-level debug";
    EXPECT_TRUE(scenario.stop_daemon(SIGTERM, 10s).clean());
}

TEST(CommandLine, StoppingIsSentOnceOnEachWayOut) {
    {  // SIGTERM: a clean stop
        Scenario scenario;
        scenario.config().add_group("a", "CG-A");
        ASSERT_TRUE(scenario.start_daemon_and_wait_ready());
        EXPECT_TRUE(scenario.stop_daemon(SIGTERM, 10s).clean());
        EXPECT_EQ(scenario.notify().count("STOPPING=1"), 1u);
    }
    {  // an invalid config at start: exit 78
        Scenario scenario;
        scenario.write_config_text("consumer_groups: [\n");
        (void)scenario.start_daemon();
        const auto status = scenario.daemon()->wait_or_kill(15s);
        EXPECT_TRUE(status.exited && status.code == 78) << status.to_string();
        EXPECT_TRUE(wait_until(
            "STOPPING=1", [&] { return scenario.notify().count("STOPPING=1") >= 1; }, 2s));
        EXPECT_EQ(scenario.notify().count("STOPPING=1"), 1u);
    }
}

}  // namespace
}  // namespace iot::test
