// "Acknowledged means stored" (DESIGN.md §6): journald can read an entry and
// then not store it, and tells nobody. These cases make the test's own
// journald do that — its journal's file system filled, Storage=none at start
// and mid-stream — and check that the daemon acknowledged nothing that was
// not stored (sampled while journald stored nothing: accepted <= stored),
// said so, and once journald stored again, wrote everything exactly once.
//
// Every journald here is the test process's own (private_journald.hpp).

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <set>
#include <string>
#include <thread>

#include "daemon_launch.hpp"
#include "delivery_audit.hpp"
#include "fault_verdict.hpp"
#include "journald.hpp"
#include "scenario.hpp"
#include "wait_until.hpp"

namespace iot::test {
namespace {

using namespace std::chrono_literals;

// Fills a file system with one file until it refuses more (ENOSPC), and
// frees it again on remove() or scope exit.
class Filler {
public:
    explicit Filler(std::filesystem::path path) : path_(std::move(path)) {
        const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0) throw std::runtime_error("cannot create " + path_.string());
        const std::string block(1 << 16, 'f');
        for (;;) {
            const ssize_t n = ::write(fd, block.data(), block.size());
            if (n > 0) {
                bytes_ += static_cast<std::size_t>(n);
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            break;  // ENOSPC: full (a short write then 0 or -1)
        }
        ::close(fd);
    }
    ~Filler() { remove(); }
    Filler(const Filler&) = delete;
    Filler& operator=(const Filler&) = delete;
    void remove() {
        if (!path_.empty()) ::unlink(path_.c_str());
        path_.clear();
    }
    [[nodiscard]] std::size_t bytes() const { return bytes_; }

private:
    std::filesystem::path path_;
    std::size_t bytes_ = 0;
};

std::size_t stored_ids(const Scenario& scenario) {
    std::set<std::string> ids;
    for (const auto& entry : JournalReader::read_all(by_identifier(scenario.message_identifier())))
        ids.insert(field_or_empty(entry, "IOT_MESSAGE_ID"));
    ids.erase("");
    return ids.size();
}

::testing::AssertionResult status_says(Scenario& scenario, const std::string& text, std::chrono::milliseconds timeout) {
    return wait_until(
        "STATUS= to say \"" + text + "\"",
        [&] {
            const auto status = scenario.notify().last_value("STATUS");
            return status && status->find(text) != std::string::npos;
        },
        timeout);
}

// While journald stores nothing, samples the emulator's accepted count, then
// the journal's distinct stored ids (in that order: stored only grows), for
// `how_long`. Returns the largest excess of accepted over stored (0 = none)
// and the last counts.
struct HeldSample {
    std::int64_t worst_excess = 0;
    std::int64_t accepted = 0;
    std::int64_t stored = 0;
};
HeldSample watch_while_held(Scenario& scenario, const std::string& consumer_group_id,
                            std::chrono::milliseconds how_long) {
    HeldSample sample;
    const auto until = std::chrono::steady_clock::now() + how_long;
    while (std::chrono::steady_clock::now() < until) {
        sample.accepted = scenario.counters(consumer_group_id).accepted;
        sample.stored = static_cast<std::int64_t>(stored_ids(scenario));
        sample.worst_excess = std::max(sample.worst_excess, sample.accepted - sample.stored);
        std::this_thread::sleep_for(200ms);  // a sampling period, not a wait for a condition
    }
    return sample;
}

void expect_all_stored_once(Scenario& scenario, const std::string& case_name, const std::string& group,
                            const std::string& consumer_group_id, const std::set<std::string>& expected,
                            std::chrono::steady_clock::time_point started, const HeldSample& held) {
    expect_delivered_once(
        scenario, case_name, group, consumer_group_id, expected, started, 90s, [&](const GroupCounters& counters) {
            // "..., N entries dropped by journald and written again, ..." (absent: none)
            const std::string status = scenario.notify().last_value("STATUS").value_or("");
            const auto dropped_at = status.find(" entries dropped by journald");
            const auto number_at = status.rfind(", ", dropped_at);
            const std::string dropped = dropped_at == std::string::npos || number_at == std::string::npos
                                            ? "0"
                                            : status.substr(number_at + 2, dropped_at - number_at - 2);
            return "accepted=" + std::to_string(counters.accepted) + " rewritten=" + dropped +
                   " while held: accepted " + std::to_string(held.accepted) + " <= stored " +
                   std::to_string(held.stored) + ", accepted-before-stored=" + std::to_string(held.worst_excess);
        });
}

// The operator's most common incident: /var (here the journal's tmpfs) full
// while thousands of messages arrive, then space is freed.
TEST(FaultJournalStorage, FileSystemFullWhileThousandsArriveThenFreedStoresEveryMessage) {
    constexpr std::size_t kMessages = 9000;
    const auto started = std::chrono::steady_clock::now();
    journald::Options options;
    options.storage = journald::Storage::volatile_files;
    options.journal_filesystem_bytes = std::uint64_t{96} << 20;
    // journald makes room by deleting its own older files (our stored entries
    // among them) when its size limits, relative to a small file system, say
    // so: lifted, the filler is what fills the file system.
    options.extra_journal_lines = {"RuntimeMaxUse=1G", "RuntimeKeepFree=0", "RuntimeMaxFileSize=512M"};
    journald::restart(options);
    const auto directory = journald::journal_directory();
    ASSERT_TRUE(directory.has_value());

    Scenario scenario;
    scenario.config().add_group("full", "CG-A", 2);
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready());
    ASSERT_TRUE(scenario.wait_for_links("CG-A", 2));

    Filler filler(*directory / "filler");
    ASSERT_GT(filler.bytes(), 0u);
    scenario.publish("CG-A", kMessages, "full-", "size=2048 rate=1500");  // 6 s of messages
    ASSERT_TRUE(status_says(scenario, "journald is not storing entries", 30s))
        << "the daemon must notice that journald stores nothing and say so";
    const HeldSample held = watch_while_held(scenario, "CG-A", 6s);
    std::printf("[ scenario ] STATUS while the journal's file system is full: %s\n",
                scenario.notify().last_value("STATUS").value_or("").c_str());
    EXPECT_EQ(held.worst_excess, 0) << "messages were acknowledged that the journal did not hold";
    EXPECT_LT(held.accepted, static_cast<std::int64_t>(kMessages)) << "the fill must have hit the stream";

    filler.remove();
    expect_all_stored_once(scenario, "journal file system full, then freed", "full", "CG-A",
                           numbered_ids("full-", kMessages), started, held);
    EXPECT_TRUE(scenario.wait_for_event("journal_storing", 1, 30s)) << "the daemon should say journald stores again";
    EXPECT_TRUE(daemon_healthy(scenario, 1));
    EXPECT_TRUE(scenario.stop_daemon(SIGTERM, 10s).clean());
}

// journald restarted with Storage=none mid-stream (or MaxLevelStore= below
// our priority: the same silent drop), then with storage again.
TEST(FaultJournalStorage, StorageNoneMidStreamHoldsEverythingUntilJournaldStoresAgain) {
    constexpr std::size_t kMessages = 3000;
    const auto started = std::chrono::steady_clock::now();
    Scenario scenario;
    scenario.config().add_group("none", "CG-B", 1);
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready());
    ASSERT_TRUE(scenario.wait_for_links("CG-B", 1));

    scenario.publish("CG-B", kMessages, "none-", "kind=mixed rate=1000");
    ASSERT_TRUE(scenario.messages().wait_for_count(300, 20s)) << "the stream must be flowing first";
    journald::Options options = journald::current_options();
    options.storage = journald::Storage::none;
    journald::restart(options);
    ASSERT_TRUE(status_says(scenario, "journald is not storing entries", 30s));
    const HeldSample held = watch_while_held(scenario, "CG-B", 3s);
    EXPECT_EQ(held.worst_excess, 0) << "messages were acknowledged that the journal did not hold";
    EXPECT_LT(held.accepted, static_cast<std::int64_t>(kMessages));

    options.storage = journald::Storage::volatile_files;
    journald::restart(options);
    expect_all_stored_once(scenario, "journald Storage=none mid-stream, then volatile", "none", "CG-B",
                           numbered_ids("none-", kMessages), started, held);
    EXPECT_TRUE(scenario.wait_for_event("journal_storing", 1, 30s));
    EXPECT_TRUE(daemon_healthy(scenario, 1));
    EXPECT_TRUE(scenario.stop_daemon(SIGTERM, 10s).clean());
}

// A journal that can never be read back is one clear error at start-up, and
// nothing is acknowledged.
TEST(FaultJournalStorage, StorageNoneAtStartIsOneClearErrorAndNothingIsAccepted) {
    Scenario scenario;
    scenario.config().add_group("never", "CG-C", 1);
    scenario.write_config();
    scenario.publish("CG-C", 100, "never-", "kind=mixed");
    journald::Options options = journald::current_options();
    options.storage = journald::Storage::none;
    journald::restart(options);
    // A host whose journald keeps no journal has no journal files either.
    // (Where old files remain, the daemon cannot tell Storage=none from a
    // journald that stops storing: it holds and says so, as mid-stream.)
    for (const char* directory : {journald::kRuntimeJournalDirectory, journald::kSystemJournalDirectory}) {
        std::error_code ignored;
        for (const auto& entry : std::filesystem::directory_iterator(directory, ignored))
            std::filesystem::remove_all(entry.path(), ignored);
    }

    DaemonLaunch launch;
    launch.name = "daemon-storage-none";
    launch.stderr_to_journal = false;  // nothing would be stored
    const auto launched = std::chrono::steady_clock::now();
    auto daemon = launch_daemon(scenario, launch);
    const auto status = daemon->wait_or_kill(20s);
    const auto took =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - launched);
    EXPECT_TRUE(status.exited && status.code == 1) << status.to_string();
    EXPECT_LT(took, 10s) << "detected within a few seconds";
    const std::string log = daemon->stderr_text();
    EXPECT_NE(log.find("journal_unreadable"), std::string::npos) << log;
    EXPECT_NE(log.find("Storage=none"), std::string::npos) << "the error must name what to check:\n" << log;
    EXPECT_EQ(scenario.counters("CG-C").accepted, 0);
    const auto stopping = scenario.notify().last_value("STATUS");
    EXPECT_TRUE(stopping && stopping->find("keeps no journal") != std::string::npos) << (stopping ? *stopping : "");
    std::printf("[ scenario ] Storage=none at start: exit %d after %lld ms, 0 of 100 accepted\n", status.code,
                static_cast<long long>(took.count()));
}

}  // namespace
}  // namespace iot::test
