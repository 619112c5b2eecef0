// Fault matrix, the output: journald paused (SIGSTOP) and resumed, killed
// (SIGKILL, like a crash) and restarted, and absent when the daemon starts.
// The daemon must acknowledge only what journald took, so after each fault
// every published messageId is in the journal exactly once, the emulator saw
// everything accepted and nothing in flight, and the daemon is healthy.
//
// journald is the test process's own (journald.hpp), in both shapes a user
// meets where it matters: standalone (its socket dies with it, and so does
// its queue) and with the socket held across the restart, as systemd's PID 1
// holds it (the queue waits for the next journald; writers block, never fail).

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "daemon_launch.hpp"
#include "delivery_audit.hpp"
#include "fault_verdict.hpp"
#include "journald.hpp"
#include "scenario.hpp"
#include "wait_until.hpp"

namespace iot::test {
namespace {

using namespace std::chrono_literals;
using journald::SocketShape;

// Makes sure journald runs again, and is not left stopped, when the case
// ends, however it ends.
class RestoreJournald {
public:
    RestoreJournald() = default;
    ~RestoreJournald() {
        try {
            if (const auto pid = journald::find_pid()) journald::resume(*pid);
            (void)journald::ensure_running();
        } catch (const std::exception& e) {
            ADD_FAILURE() << "could not restore journald: " << e.what();
        }
    }
    RestoreJournald(const RestoreJournald&) = delete;
    RestoreJournald& operator=(const RestoreJournald&) = delete;
};

// Starts the test's journald in `shape` for a case.
void use_socket_shape(SocketShape shape) {
    journald::Options options;
    options.socket = shape;
    (void)journald::restart(options);
}

std::string shape_name(const ::testing::TestParamInfo<SocketShape>& info) { return journald::to_string(info.param); }

void expect_nothing_lost(Scenario& scenario, const std::string& case_name, const std::string& group,
                         const std::string& consumer_group_id, const std::set<std::string>& expected,
                         std::chrono::steady_clock::time_point started) {
    expect_delivered_once(scenario, case_name, group, consumer_group_id, expected, started, 60s, redelivered_note);
}

// Waits (bounded) until the test's notify socket has had no WATCHDOG=1 for
// 1.5 s counted from `since` or the last ping, whichever is later: the
// pings come every second (WatchdogSec=2s), so a group no longer ticks.
::testing::AssertionResult wait_pings_stop(Scenario& scenario, std::chrono::steady_clock::time_point since) {
    return wait_until(
        "the watchdog pings to stop (1.5 s without one)",
        [&] {
            const auto last = scenario.notify().last_time("WATCHDOG=1");
            return last && std::chrono::steady_clock::now() - std::max(*last, since) >= 1500ms;
        },
        15s);
}

TEST(FaultJournald, PausedWithSigstopThenResumedLosesNothing) {
    constexpr std::size_t kMessages = 3000;
    const auto started = std::chrono::steady_clock::now();
    RestoreJournald restore;
    Scenario scenario;
    scenario.config().add_group("paused", "CG-A", 2);
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready());
    ASSERT_TRUE(scenario.wait_for_links("CG-A", 2));

    scenario.publish("CG-A", kMessages, "pause-", "kind=mixed rate=1500");
    ASSERT_TRUE(scenario.messages().wait_for_count(100, 20s)) << "the stream must be flowing before the pause";
    const auto pid = journald::find_pid();
    ASSERT_TRUE(pid.has_value());
    std::size_t pings_while_paused = 0;
    {
        journald::PauseGuard paused(*pid);
        const auto paused_at = std::chrono::steady_clock::now();
        // The writes block once journald's socket queue is full: the
        // watchdog must notice (the group's tick cannot run), so the pings
        // (every second with WatchdogSec=2s) stop. How soon the queue fills
        // depends on the machine's load: wait for it, bounded.
        ASSERT_TRUE(wait_pings_stop(scenario, paused_at));
        const auto quiet_from = std::chrono::steady_clock::now();
        std::this_thread::sleep_for(2500ms);  // the pause under test
        pings_while_paused = scenario.notify().count_since("WATCHDOG=1", quiet_from);
        paused.resume_now();
    }
    EXPECT_EQ(pings_while_paused, 0u) << "a daemon blocked on a stopped journald must stop its watchdog pings";

    expect_nothing_lost(scenario, "journald SIGSTOP", "paused", "CG-A", numbered_ids("pause-", kMessages), started);
    EXPECT_TRUE(daemon_healthy(scenario, 1));
    EXPECT_TRUE(scenario.stop_daemon(SIGTERM, 10s).clean());
}

// The metrics file's sum of one counter over the groups; 0 while unreadable.
double metric_sum(const std::filesystem::path& file, const std::string& name) {
    std::ifstream in(file);
    double sum = 0;
    for (std::string line; std::getline(in, line);) {
        if (line.rfind(name + "{", 0) != 0) continue;
        const auto space = line.rfind(' ');
        if (space != std::string::npos) sum += std::strtod(line.c_str() + space + 1, nullptr);
    }
    return sum;
}

// Publishes with journald stopped and keeps it stopped until the emulator has
// more than `more_than` deliveries in flight (the daemon holds more than
// journald's queue takes) and the watchdog pings have stopped for 1.5 s (a
// group waits on journald); then resumes it. The test's notify socket and
// the emulator's counters are watched, not the daemon's metrics file: the
// daemon may be wedged before it writes that.
::testing::AssertionResult stop_journald_until_wedged(Scenario& scenario, const std::vector<std::string>& groups,
                                                      std::int64_t more_than, const std::function<void()>& publish) {
    const auto pid = journald::find_pid();
    if (!pid) return ::testing::AssertionFailure() << "the test's journald is not running";
    journald::PauseGuard paused(*pid);
    publish();
    std::int64_t in_flight = 0;
    auto result = wait_until(
        "more deliveries in flight than journald's queue takes",
        [&] {
            in_flight = 0;
            for (const auto& id : groups) in_flight += scenario.counters(id).in_flight;
            return in_flight > more_than;
        },
        15s);
    if (!result) return result << " (" << in_flight << " in flight)";
    return wait_pings_stop(scenario, std::chrono::steady_clock::now());
}

// Adds a metrics textfile, written every second, to the scenario's config.
std::filesystem::path with_metrics_file(Scenario& scenario) {
    auto metrics = scenario.dir().path() / "metrics.prom";
    scenario.write_config_text(scenario.config().to_yaml() + "metrics:\n  textfile: " + metrics.string() +
                               "\n  interval: 1s\n");
    return metrics;
}

::testing::AssertionResult queue_full_counted(const std::filesystem::path& metrics) {
    return wait_until(
        "the sends that found journald's queue full to be counted (iot_amqpd_journal_queue_full_total)",
        [&] { return metric_sum(metrics, "iot_amqpd_journal_queue_full_total") > 0; }, 10s);
}

// With systemd's queue of 512 datagrams, a write that finds journald's queue
// full is kept and sent as journald reads (journald_sink.hpp), and kept
// entries that wait a second make the next write wait in sendmsg() as
// before. Four groups fill it while journald is stopped: nothing may be lost
// or written twice, whichever of the two ways each write went. journald is
// stopped before the messages are published, so that nothing is accepted
// and every window stays at its start: 4 x 200 in flight outgrow the queue,
// and the groups wedge for the watchdog. (Stopped mid-stream, a slow machine
// may have shrunk the windows below the queue's length first: then nothing
// waits, and a group holds until journald reads again.)
TEST(FaultJournald, ALongQueueThatFillsUnderFourGroupsLosesNothingAndWritesNothingTwice) {
    constexpr std::size_t kPerGroup = 3000;
    const std::vector<std::pair<std::string, std::string>> groups = {
        {"long-a", "CG-A"}, {"long-b", "CG-B"}, {"long-c", "CG-C"}, {"long-d", "CG-D"}};
    const std::vector<std::string> ids = {"CG-A", "CG-B", "CG-C", "CG-D"};
    const auto started = std::chrono::steady_clock::now();
    RestoreJournald restore;
    (void)journald::restart_with_queue_length(512);
    Scenario scenario;
    scenario.config().credit = 500;
    for (const auto& [name, id] : groups) scenario.config().add_group(name, id, 1);
    const auto metrics = with_metrics_file(scenario);
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready());
    for (const auto& id : ids) ASSERT_TRUE(scenario.wait_for_links(id, 1));

    EXPECT_TRUE(stop_journald_until_wedged(scenario, ids, 600, [&] {
        for (const auto& [name, id] : groups) scenario.publish(id, kPerGroup, name + "-", "kind=mixed");
    }));
    EXPECT_TRUE(queue_full_counted(metrics));
    std::set<std::string> expected;
    std::map<std::string, std::string> group_ids;
    for (const auto& [name, id] : groups) {
        const auto numbered = numbered_ids(name + "-", kPerGroup);
        expected.insert(numbered.begin(), numbered.end());
        group_ids[name] = id;
    }
    ASSERT_TRUE(scenario.wait_all_accepted(ids, 60s));
    const auto entries = final_message_entries(scenario, expected.size(), 60s);
    EXPECT_TRUE(exactly_once(audit_delivery(entries, expected, scenario.message_identifier(), group_ids)));
    std::printf(
        "[ fault-table ] | journald's queue of 512 filled by 4 groups | %zu | %.0f sends found it full | "
        "%.1f s |\n",
        expected.size(), metric_sum(metrics, "iot_amqpd_journal_queue_full_total"),
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    EXPECT_TRUE(daemon_healthy(scenario, 4));
    EXPECT_TRUE(scenario.stop_daemon(SIGTERM, 10s).clean());
}

// Kept entries that a stopped journald does not take must not leave the
// group ticking as if all were well: after kStalledQueueWait its next send
// waits in sendmsg() (journald_sink.hpp), so its tick stops and the watchdog
// sees the group wedged, as where every write waits (the queue of 10,
// PausedWithSigstop... above). One group, whose window (200 at its start)
// outgrows a queue of 100: the queue takes what it holds (at least
// kWriteAheadMinQueue, so writes go ahead without waiting) and the rest is
// kept. Without the stall rule the pings go on as long as journald is
// stopped (checked: with kStalledQueueWait at an hour this case fails).
TEST(FaultJournald, EntriesKeptForAStoppedJournaldWedgeTheGroupForTheWatchdog) {
    constexpr std::size_t kMessages = 1000;
    const auto started = std::chrono::steady_clock::now();
    RestoreJournald restore;
    (void)journald::restart_with_queue_length(100);
    Scenario scenario;
    scenario.config().credit = 500;
    scenario.config().add_group("kept", "CG-A", 1);
    const auto metrics = with_metrics_file(scenario);
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready());
    ASSERT_TRUE(scenario.wait_for_links("CG-A", 1));

    EXPECT_TRUE(stop_journald_until_wedged(scenario, {"CG-A"}, 150,
                                           [&] { scenario.publish("CG-A", kMessages, "kept-", "kind=mixed"); }));
    EXPECT_TRUE(queue_full_counted(metrics));
    expect_nothing_lost(scenario, "entries kept for a stopped journald", "kept", "CG-A",
                        numbered_ids("kept-", kMessages), started);
    EXPECT_TRUE(daemon_healthy(scenario, 1));
    EXPECT_TRUE(scenario.stop_daemon(SIGTERM, 10s).clean());
}

// A SIGKILL that lands while journald still has some of the daemon's
// datagrams queued: standalone, the queue dies with it and the daemon must not
// have accepted those; with the socket held, the next journald reads them.
class FaultJournaldKilled : public ::testing::TestWithParam<SocketShape> {};

TEST_P(FaultJournaldKilled, AndRestartedMidStreamLosesNothing) {
    constexpr std::size_t kMessages = 3000;
    const auto started = std::chrono::steady_clock::now();
    const SocketShape shape = GetParam();
    use_socket_shape(shape);
    RestoreJournald restore;
    Scenario scenario;
    scenario.config().add_group("crashed", "CG-B", 2);
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready());
    ASSERT_TRUE(scenario.wait_for_links("CG-B", 2));

    scenario.publish("CG-B", kMessages, "jkill-", "kind=mixed rate=1500");
    ASSERT_TRUE(scenario.messages().wait_for_count(300, 20s)) << "the stream must be flowing before the kill";
    const auto pid = journald::find_pid();
    ASSERT_TRUE(pid.has_value());
    ASSERT_TRUE(journald::kill_and_wait(*pid, SIGKILL));
    // journald stays down for a while: the daemon must hold what it has
    // not seen journald read (a held socket makes its writes block instead).
    std::this_thread::sleep_for(1500ms);
    const auto while_down = scenario.counters("CG-B");
    (void)journald::ensure_running();

    expect_nothing_lost(scenario, "journald SIGKILL + restart, " + journald::to_string(shape), "crashed", "CG-B",
                        numbered_ids("jkill-", kMessages), started);
    EXPECT_LT(while_down.accepted, static_cast<std::int64_t>(kMessages)) << "the kill must have hit the stream";
    EXPECT_TRUE(daemon_healthy(scenario, 1));
    if (shape == SocketShape::standalone) {
        // Its sends failed with ECONNREFUSED (its "write_failed" line went to
        // the dead journald); the recovery is logged.
        EXPECT_TRUE(scenario.wait_for_event("write_recovered", 1, 10s)) << "the daemon should say its output is back";
    }
    EXPECT_TRUE(scenario.stop_daemon(SIGTERM, 10s).clean());
}

INSTANTIATE_TEST_SUITE_P(Shapes, FaultJournaldKilled,
                         ::testing::Values(SocketShape::standalone, SocketShape::held_by_parent), shape_name);

// A hung journald that is then killed (what systemd's watchdog does to a
// journald that stops answering): the datagrams sitting in its socket queue
// when it dies were never read, so they must not have been acknowledged.
// A daemon that accepted a delivery as soon as sendmsg() to journald's socket
// returned lost the net.unix.max_dgram_qlen + 1 entries queued there (2-11
// here); it now accepts only what it reads back from the journal, and writes
// again what a dead journald took along (see store_tracker.hpp). With the
// socket held (systemd), the queue survives and the next journald reads it.
class FaultJournaldHung : public ::testing::TestWithParam<SocketShape> {};

TEST_P(FaultJournaldHung, ThenKilledLosesNothing) {
    constexpr std::size_t kMessages = 2000;
    const auto started = std::chrono::steady_clock::now();
    const SocketShape shape = GetParam();
    use_socket_shape(shape);
    RestoreJournald restore;
    Scenario scenario;
    scenario.config().add_group("hung", "CG-D", 1);
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready());
    ASSERT_TRUE(scenario.wait_for_links("CG-D", 1));

    scenario.publish("CG-D", kMessages, "hung-", "kind=mixed rate=1000");
    ASSERT_TRUE(scenario.messages().wait_for_count(200, 20s)) << "the stream must be flowing before the hang";
    const auto pid = journald::find_pid();
    ASSERT_TRUE(pid.has_value());
    journald::PauseGuard paused(*pid);
    // The daemon fills journald's socket queue, then blocks in its next write.
    const auto accepted_before = scenario.counters("CG-D").accepted;
    ASSERT_TRUE(wait_until(
        "the daemon to block on the hung journald",
        [&, last = std::int64_t{-1}]() mutable {
            const auto now = scenario.counters("CG-D").accepted;
            const bool still = now == last;
            last = now;
            return still;
        },
        10s, 500ms));
    const auto accepted_while_hung = scenario.counters("CG-D").accepted;
    ASSERT_TRUE(journald::kill_and_wait(*pid, SIGKILL));
    (void)journald::ensure_running();

    expect_nothing_lost(scenario, "journald hung, then SIGKILL, " + journald::to_string(shape), "hung", "CG-D",
                        numbered_ids("hung-", kMessages), started);
    EXPECT_TRUE(daemon_healthy(scenario, 1));
    if (shape == SocketShape::standalone) {
        // The queue was full when journald died, so entries it took along
        // were never stored: the daemon must have found them missing from the
        // journal and written them again (it no longer needs the cloud to
        // redeliver). (Its "journal_dropped" line went to the dead journald;
        // STATUS= says it.)
        EXPECT_TRUE(wait_until(
            "STATUS= to count entries journald dropped",
            [&] {
                const auto status = scenario.notify().last_value("STATUS");
                return status && status->find("dropped by journald and written again") != std::string::npos;
            },
            10s))
            << "the daemon should say journald dropped entries and that it wrote them again";
    }
    std::printf("[ scenario ] accepted while journald hung: %lld (before the hang %lld)\n",
                static_cast<long long>(accepted_while_hung), static_cast<long long>(accepted_before));
    EXPECT_TRUE(scenario.stop_daemon(SIGTERM, 10s).clean());
}

INSTANTIATE_TEST_SUITE_P(Shapes, FaultJournaldHung,
                         ::testing::Values(SocketShape::standalone, SocketShape::held_by_parent), shape_name);

TEST(FaultJournald, AbsentAtStartupNothingIsAcknowledgedUntilItIsBack) {
    constexpr std::size_t kMessages = 500;
    const auto started = std::chrono::steady_clock::now();
    // Absent means no socket at all: a journald that owns its socket.
    use_socket_shape(SocketShape::standalone);
    RestoreJournald restore;
    Scenario scenario;
    scenario.config().add_group("early", "CG-C", 1);
    scenario.write_config();

    const auto pid = journald::find_pid();
    ASSERT_TRUE(pid.has_value());
    ASSERT_TRUE(journald::kill_and_wait(*pid, SIGTERM));
    ASSERT_FALSE(journald::socket_accepts()) << "a standalone journald's socket must be gone with it";
    // A journal stream cannot be opened without journald: stderr goes to a file.
    DaemonLaunch launch;
    launch.name = "daemon-early";
    launch.stderr_to_journal = false;
    const auto launched = std::chrono::steady_clock::now();
    auto daemon = launch_daemon(scenario, launch);
    ASSERT_TRUE(wait_ready_since(scenario, *daemon, launched)) << "READY=1 must not wait for journald";
    ASSERT_TRUE(scenario.wait_for_links("CG-C", 1));

    scenario.publish("CG-C", kMessages, "early-", "kind=mixed");
    ASSERT_TRUE(wait_until(
        "messages delivered to the daemon", [&] { return scenario.counters("CG-C").delivered > 0; }, 10s));
    // Nothing may be acknowledged while journald is absent; watch for a while.
    const auto watch_until = std::chrono::steady_clock::now() + 3s;
    std::int64_t accepted_while_absent = 0;
    while (std::chrono::steady_clock::now() < watch_until) {
        accepted_while_absent = std::max(accepted_while_absent, scenario.counters("CG-C").accepted);
        std::this_thread::sleep_for(100ms);
    }
    EXPECT_EQ(accepted_while_absent, 0) << "the daemon acknowledged messages journald never took";
    EXPECT_GT(scenario.counters("CG-C").in_flight, 0) << "the delivered messages must be held unsettled";

    (void)journald::ensure_running();
    expect_nothing_lost(scenario, "journald absent at start", "early", "CG-C", numbered_ids("early-", kMessages),
                        started);
    EXPECT_TRUE(daemon_healthy(scenario, 1));
    const auto log = daemon->stderr_text();
    EXPECT_NE(log.find("write_failed"), std::string::npos) << "the daemon should say its output failed:\n" << log;
    daemon->signal(SIGTERM);
    const auto status = daemon->wait_or_kill(10s);
    EXPECT_TRUE(status.clean()) << status.to_string();
}

}  // namespace
}  // namespace iot::test
