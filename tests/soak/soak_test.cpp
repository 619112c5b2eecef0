// The soak: months of running compressed. The daemon, supervised as systemd
// would (NOTIFY_SOCKET, a watchdog), serves 4 groups × 2 connections a
// steady stream; every fault period one group also gets a burst and the
// daemon meets one fault of the matrix, in turn: connections dropped, a
// forced close, authentication refused for a while, journald paused,
// journald killed and restarted, a reload that removes one group and
// changes another, an invalid reload, a reload that adds the group back.
// Every sample period the daemon's RSS, open descriptors (and those on
// journal files), threads, CPU and dedup windows are sampled.
//
// It passes when every published messageId is in the journal exactly once,
// the emulator saw every message accepted, and after the warm-up RSS, open
// descriptors and threads stay within their bands. It prints one table:
// "[ soak ]" lines.
//
// The CI run lasts 2 minutes, long enough for every fault once; bench/soak.sh
// runs the documented hour. All knobs are environment variables (seconds
// unless named otherwise):
//   SOAK_SECONDS (120)  SOAK_FAULT_PERIOD (12)  SOAK_SAMPLE_PERIOD (5)
//   SOAK_WARMUP (30)    SOAK_RATE (messages/s per group, 100)  SOAK_BURST (2000)
//   SOAK_DEDUP_WINDOW (ids per group, 2000: full within the CI run's warm-up,
//                      so its growth is not taken for a leak; 10000 is the default)
//
// Thread: the test thread.

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "delivery_audit.hpp"
#include "fault_verdict.hpp"
#include "journald.hpp"
#include "process_probe.hpp"
#include "scenario.hpp"
#include "wait_until.hpp"

namespace iot::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// The bands RSS, descriptors and threads must stay within after the warm-up
// (max - min over the samples). RSS moves with bursts (held messages, the
// journal pages the read-back maps until it reopens) and descriptors and
// threads with reconnects and group restarts in progress; a leak of one per
// fault or per reconnect leaves them within minutes.
constexpr std::int64_t kRssBandKib = 24 * 1024;
constexpr std::int64_t kFdBand = 24;
constexpr std::int64_t kThreadBand = 8;

long env_number(const char* name, long fallback) {
    const char* text = std::getenv(name);
    if (text == nullptr || *text == '\0') return fallback;
    char* end = nullptr;
    const long value = std::strtol(text, &end, 10);
    return (end != nullptr && *end == '\0' && value > 0) ? value : fallback;
}

struct Settings {
    std::chrono::seconds duration{env_number("SOAK_SECONDS", 120)};
    std::chrono::seconds fault_period{env_number("SOAK_FAULT_PERIOD", 12)};
    std::chrono::seconds sample_period{env_number("SOAK_SAMPLE_PERIOD", 5)};
    std::chrono::seconds warmup{env_number("SOAK_WARMUP", 30)};
    long rate = env_number("SOAK_RATE", 100);
    long burst = env_number("SOAK_BURST", 2000);
    long dedup_window = env_number("SOAK_DEDUP_WINDOW", 2000);
};

struct Group {
    std::string name;
    std::string consumer_group_id;
};

const std::vector<Group> kGroups = {{"soak-a", "CG-A"}, {"soak-b", "CG-B"}, {"soak-c", "CG-C"}, {"soak-d", "CG-D"}};

struct Sample {
    double at_s = 0;
    std::int64_t rss_kib = 0;
    std::int64_t rss_anon_kib = 0;   // the heap and stacks
    std::int64_t rss_file_kib = 0;   // mapped files: libraries
    std::int64_t rss_shmem_kib = 0;  // mapped tmpfs: the journal pages the read-back touched (journal on /run)
    std::int64_t fds = 0;
    std::int64_t journal_fds = 0;
    std::int64_t threads = 0;
    double cpu_s = 0;
    std::int64_t dedup_ids = 0;  // summed over groups, from the metrics file
};

// utime + stime of `pid`, in seconds.
double cpu_seconds(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const auto close = text.rfind(')');
    if (close == std::string::npos) return 0;
    std::istringstream fields(text.substr(close + 2));
    std::string field;
    std::uint64_t utime = 0;
    std::uint64_t stime = 0;
    for (int i = 3; fields >> field; ++i) {  // field 3 is the state
        if (i == 14) utime = std::stoull(field);
        if (i == 15) {
            stime = std::stoull(field);
            break;
        }
    }
    return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// A "Key:   N kB" line of /proc/PID/status (0 when absent).
std::int64_t status_kib(pid_t pid, const std::string& key) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(key + ":", 0) == 0) return std::strtoll(line.c_str() + key.size() + 1, nullptr, 10);
    return 0;
}

// Sum of a per-group gauge in the daemon's metrics file (0 when absent).
std::int64_t metric_sum(const std::filesystem::path& file, const std::string& name) {
    std::ifstream in(file);
    std::string line;
    std::int64_t sum = 0;
    while (std::getline(in, line)) {
        if (line.rfind(name + "{", 0) != 0) continue;
        const auto space = line.rfind(' ');
        if (space != std::string::npos) sum += std::strtoll(line.c_str() + space + 1, nullptr, 10);
    }
    return sum;
}

Sample take_sample(pid_t pid, Clock::time_point started, const std::filesystem::path& metrics) {
    Sample s;
    s.at_s = std::chrono::duration<double>(Clock::now() - started).count();
    if (const auto memory = proc::memory_usage(pid)) s.rss_kib = memory->current_kib;
    s.rss_anon_kib = status_kib(pid, "RssAnon");
    s.rss_file_kib = status_kib(pid, "RssFile");
    s.rss_shmem_kib = status_kib(pid, "RssShmem");
    const auto targets = proc::open_fd_targets(pid);
    s.fds = static_cast<std::int64_t>(targets.size());
    s.journal_fds = std::count_if(targets.begin(), targets.end(), [](const std::string& target) {
        return target.size() > 8 && target.compare(target.size() - 8, 8, ".journal") == 0;
    });
    s.threads = static_cast<std::int64_t>(proc::thread_count(pid).value_or(0));
    s.cpu_s = cpu_seconds(pid);
    s.dedup_ids = metric_sum(metrics, "iot_amqpd_dedup_window_ids");
    return s;
}

// Least-squares slope of `value` over time, per hour.
double slope_per_hour(const std::vector<Sample>& samples, std::int64_t Sample::*value) {
    if (samples.size() < 2) return 0;
    double mean_t = 0;
    double mean_v = 0;
    for (const auto& s : samples) {
        mean_t += s.at_s;
        mean_v += static_cast<double>(s.*value);
    }
    mean_t /= static_cast<double>(samples.size());
    mean_v /= static_cast<double>(samples.size());
    double covariance = 0;
    double variance = 0;
    for (const auto& s : samples) {
        covariance += (s.at_s - mean_t) * (static_cast<double>(s.*value) - mean_v);
        variance += (s.at_s - mean_t) * (s.at_s - mean_t);
    }
    return variance == 0 ? 0 : covariance / variance * 3600.0;
}

struct Band {
    std::int64_t first = 0, last = 0, min = 0, max = 0;
};

Band band_of(const std::vector<Sample>& samples, std::int64_t Sample::*value) {
    Band band;
    if (samples.empty()) return band;
    band.first = samples.front().*value;
    band.last = samples.back().*value;
    band.min = band.max = band.first;
    for (const auto& s : samples) {
        band.min = std::min(band.min, s.*value);
        band.max = std::max(band.max, s.*value);
    }
    return band;
}

class Soak {
public:
    explicit Soak(Settings settings) : settings_(settings) {}

    void run() {
        metrics_ = scenario_.dir().path() / "metrics.prom";
        auto& config = scenario_.config();
        config.reconnect_max_delay = "500ms";
        config.extra_default_lines.push_back("dedup_window: " + std::to_string(settings_.dedup_window));
        for (const auto& g : kGroups) config.add_group(g.name, g.consumer_group_id, 2);
        write_config();
        ASSERT_TRUE(scenario_.start_daemon_and_wait_ready());
        for (const auto& g : kGroups) ASSERT_TRUE(scenario_.wait_for_links(g.consumer_group_id, 2));

        started_ = Clock::now();
        const auto end = started_ + settings_.duration;
        auto next_fault = started_ + settings_.fault_period;
        auto next_sample = started_;
        auto next_stream = started_;
        while (Clock::now() < end) {
            const auto now = Clock::now();
            if (now >= next_stream) {  // the steady stream, one second's worth at a time, paced by the emulator
                publish_all(static_cast<std::size_t>(settings_.rate), "rate=" + std::to_string(settings_.rate));
                next_stream += 1s;
            }
            if (now >= next_sample) {
                samples_.push_back(take_sample(scenario_.daemon()->pid(), started_, metrics_));
                next_sample += settings_.sample_period;
            }
            if (now >= next_fault) {
                burst_and_fault();
                if (::testing::Test::HasFatalFailure()) return;
                next_fault += settings_.fault_period;
            }
            std::this_thread::sleep_until(std::min({next_stream, next_sample, next_fault, end}));
        }
        finish();
    }

private:
    void write_config() {
        scenario_.write_config();
        // The metrics file goes under the scenario's directory (a key DaemonConfig does not model).
        std::ofstream(scenario_.config_path(), std::ios::app)
            << "metrics:\n  textfile: " << metrics_.string() << "\n  interval: 1s\n";
    }

    void publish_to(const Group& g, std::size_t count, const std::string& extra) {
        const std::string prefix = "soak" + std::to_string(batches_++) + "-";
        scenario_.publish(g.consumer_group_id, count, prefix, "kind=mixed " + extra);
        const auto ids = numbered_ids(prefix, count);
        expected_[g.consumer_group_id].insert(ids.begin(), ids.end());
    }

    void publish_all(std::size_t count, const std::string& extra) {
        for (const auto& g : kGroups) publish_to(g, count, extra);
    }

    // One burst and the next fault of the matrix.
    void burst_and_fault() {
        const Group& target = kGroups[faults_ % kGroups.size()];
        publish_to(target, static_cast<std::size_t>(settings_.burst), "");
        const std::string cg = target.consumer_group_id;
        std::string fault;
        switch (faults_ % 8) {
            case 0:
                fault = "connections dropped";
                (void)scenario_.emulator("drop group=" + cg);
                break;
            case 1:
                fault = "forced close (amqp:connection:forced)";
                (void)scenario_.emulator("close group=" + cg + " condition=amqp:connection:forced");
                break;
            case 2:
                fault = "authentication refused 3 s, connections dropped";
                (void)scenario_.emulator("refuse_auth seconds=3");
                (void)scenario_.emulator("drop group=" + cg);
                break;
            case 3: {
                fault = "journald paused 2 s";
                const auto pid = journald::find_pid();
                ASSERT_TRUE(pid.has_value());
                journald::PauseGuard paused(*pid);
                std::this_thread::sleep_for(2s);  // the fault lasts 2 s; nothing is awaited here
                break;
            }
            case 4: {
                fault = "journald killed and restarted";
                const auto pid = journald::find_pid();
                ASSERT_TRUE(pid.has_value());
                ASSERT_TRUE(journald::kill_and_wait(*pid, SIGKILL));
                (void)journald::ensure_running();
                break;
            }
            case 5:
                fault = "reload: soak-d removed, soak-b's credit changed";
                ASSERT_TRUE(scenario_.config().remove_group("soak-d"));
                scenario_.config().find_group("soak-b")->credit = faults_ % 16 == 5 ? 50 : 100;
                removed_d_ = true;
                write_config();
                ASSERT_TRUE(scenario_.reload());
                break;
            case 6:
                fault = "invalid reload (the old config keeps running)";
                scenario_.write_config_text("consumer_groups: [broken\n");
                ASSERT_TRUE(scenario_.reload()) << "READY=1 follows a failed reload too";
                break;
            case 7:
                fault = "reload: soak-d added back";
                scenario_.config().add_group("soak-d", "CG-D", 2);
                removed_d_ = false;
                write_config();
                ASSERT_TRUE(scenario_.reload());
                break;
        }
        faults_seen_[fault]++;
        std::printf("[ soak ] %6.0f s  fault %2d: %s (%s, burst of %ld)\n",
                    std::chrono::duration<double>(Clock::now() - started_).count(), faults_ + 1, fault.c_str(),
                    cg.c_str(), settings_.burst);
        std::fflush(stdout);
        ++faults_;
    }

    void finish() {
        if (removed_d_) {  // what was published to soak-d while it was gone still has to arrive
            scenario_.config().add_group("soak-d", "CG-D", 2);
            write_config();
            ASSERT_TRUE(scenario_.reload());
        }
        std::vector<std::string> cgs;
        std::size_t total = 0;
        std::set<std::string> all;
        for (const auto& g : kGroups) {
            cgs.push_back(g.consumer_group_id);
            total += expected_[g.consumer_group_id].size();
            all.insert(expected_[g.consumer_group_id].begin(), expected_[g.consumer_group_id].end());
        }
        const auto quiet_from = Clock::now();
        for (const auto& g : kGroups) {
            EXPECT_TRUE(emulator_settled(scenario_, {g.consumer_group_id},
                                         static_cast<std::int64_t>(expected_[g.consumer_group_id].size()), 300s))
                << g.consumer_group_id;
        }
        const auto drained_s = std::chrono::duration<double>(Clock::now() - quiet_from).count();
        samples_.push_back(take_sample(scenario_.daemon()->pid(), started_, metrics_));
        const auto entries = final_message_entries(scenario_, total, 120s);
        std::map<std::string, std::string> group_ids;
        for (const auto& g : kGroups) group_ids[g.name] = g.consumer_group_id;
        const auto audit = audit_delivery(entries, all, scenario_.message_identifier(), group_ids);
        EXPECT_TRUE(exactly_once(audit));
        EXPECT_TRUE(daemon_healthy(scenario_, kGroups.size()));
        EXPECT_TRUE(scenario_.no_secret_leaked());
        report(total, entries.size(), audit, drained_s);
        EXPECT_TRUE(scenario_.stop_daemon(SIGTERM, 15s).clean());
    }

    void report(std::size_t published, std::size_t entries, const DeliveryAudit& audit, double drained_s) {
        std::vector<Sample> steady;
        for (const auto& s : samples_)
            if (s.at_s >= static_cast<double>(settings_.warmup.count())) steady.push_back(s);
        const auto rss = band_of(steady, &Sample::rss_kib);
        const auto anon = band_of(steady, &Sample::rss_anon_kib);
        const auto file = band_of(steady, &Sample::rss_file_kib);
        const auto shmem = band_of(steady, &Sample::rss_shmem_kib);
        const auto fds = band_of(steady, &Sample::fds);
        const auto threads = band_of(steady, &Sample::threads);
        const auto journal_fds = band_of(samples_, &Sample::journal_fds);
        const auto dedup = band_of(samples_, &Sample::dedup_ids);
        const double seconds = samples_.empty() ? 0 : samples_.back().at_s;
        const double cpu = samples_.size() < 2 ? 0 : samples_.back().cpu_s - samples_.front().cpu_s;
        std::printf(
            "[ soak ] duration %.0f s (warm-up %lld s, drained %.1f s after the last publish), "
            "%zu messages published, %zu entries, %zu duplicated, %zu missing, %d faults\n",
            seconds, static_cast<long long>(settings_.warmup.count()), drained_s, published, entries,
            audit.duplicated.size(), audit.missing.size(), faults_);
        for (const auto& [fault, times] : faults_seen_) std::printf("[ soak ]   %dx %s\n", times, fault.c_str());
        std::printf("[ soak ] | after warm-up | first | last | min | max | band | slope per hour |\n");
        std::printf("[ soak ] | RSS (KiB) | %" PRId64 " | %" PRId64 " | %" PRId64 " | %" PRId64 " | <= %" PRId64
                    " | %+.0f |\n",
                    rss.first, rss.last, rss.min, rss.max, kRssBandKib, slope_per_hour(steady, &Sample::rss_kib));
        std::printf("[ soak ] |   of it anonymous (KiB) | %" PRId64 " | %" PRId64 " | %" PRId64 " | %" PRId64
                    " | | %+.0f |\n",
                    anon.first, anon.last, anon.min, anon.max, slope_per_hour(steady, &Sample::rss_anon_kib));
        std::printf("[ soak ] |   of it mapped files (KiB) | %" PRId64 " | %" PRId64 " | %" PRId64 " | %" PRId64
                    " | | %+.0f |\n",
                    file.first, file.last, file.min, file.max, slope_per_hour(steady, &Sample::rss_file_kib));
        std::printf("[ soak ] |   of it mapped tmpfs (KiB) | %" PRId64 " | %" PRId64 " | %" PRId64 " | %" PRId64
                    " | | %+.0f |\n",
                    shmem.first, shmem.last, shmem.min, shmem.max, slope_per_hour(steady, &Sample::rss_shmem_kib));
        std::printf("[ soak ] | open fds | %" PRId64 " | %" PRId64 " | %" PRId64 " | %" PRId64 " | <= %" PRId64
                    " | %+.1f |\n",
                    fds.first, fds.last, fds.min, fds.max, kFdBand, slope_per_hour(steady, &Sample::fds));
        std::printf("[ soak ] | threads | %" PRId64 " | %" PRId64 " | %" PRId64 " | %" PRId64 " | <= %" PRId64
                    " | %+.1f |\n",
                    threads.first, threads.last, threads.min, threads.max, kThreadBand,
                    slope_per_hour(steady, &Sample::threads));
        std::printf("[ soak ] | fds on journal files (whole run) | %" PRId64 " | %" PRId64 " | %" PRId64 " | %" PRId64
                    " | | |\n",
                    journal_fds.first, journal_fds.last, journal_fds.min, journal_fds.max);
        std::printf("[ soak ] | dedup ids, all groups (whole run) | %" PRId64 " | %" PRId64 " | %" PRId64 " | %" PRId64
                    " | | |\n",
                    dedup.first, dedup.last, dedup.min, dedup.max);
        std::printf("[ soak ] CPU %.1f s over %.0f s (%.1f %% of one core; %.1f us per message)\n", cpu, seconds,
                    seconds > 0 ? 100.0 * cpu / seconds : 0.0,
                    published > 0 ? 1e6 * cpu / static_cast<double>(published) : 0.0);
        std::fflush(stdout);
        ASSERT_GE(steady.size(), 2u) << "too few samples after the warm-up: lengthen SOAK_SECONDS";
        EXPECT_LE(rss.max - rss.min, kRssBandKib) << "RSS moved beyond its band after the warm-up";
        EXPECT_LE(fds.max - fds.min, kFdBand) << "open descriptors moved beyond their band after the warm-up";
        EXPECT_LE(threads.max - threads.min, kThreadBand) << "threads moved beyond their band after the warm-up";
    }

    Settings settings_;
    Scenario scenario_;
    std::filesystem::path metrics_;
    Clock::time_point started_{};
    std::map<std::string, std::set<std::string>> expected_;  // consumer group id -> ids published
    std::vector<Sample> samples_;
    std::map<std::string, int> faults_seen_;
    int batches_ = 0;
    int faults_ = 0;
    bool removed_d_ = false;
};

TEST(Soak, MonthsOfRunningCompressed) {
    // A journal big enough for the whole run: journald must not vacuum
    // entries the final audit reads back.
    journald::Options options = journald::current_options();
    options.extra_journal_lines = {"RuntimeMaxUse=8G", "RuntimeKeepFree=0", "RuntimeMaxFileSize=256M"};
    (void)journald::restart(options);
    Soak soak{Settings{}};
    soak.run();
}

}  // namespace
}  // namespace iot::test
