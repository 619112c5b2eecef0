// The Debian path for the metrics file: Debian's own node_exporter
// (prometheus-node-exporter, a private instance on a loopback port) reads the
// daemon's textfile from its textfile directory and serves the daemon's
// counters on /metrics, with the group label and the delivered count, and
// without a textfile scrape error while the daemon keeps rewriting the file
// (a half-written file would be one: the daemon writes a temporary name that
// does not end in .prom and renames it).

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>

#include "private_node_exporter.hpp"
#include "scenario.hpp"
#include "wait_until.hpp"

namespace iot::test {
namespace {

using namespace std::chrono_literals;

TEST(NodeExporter, ServesTheDaemonsTextfileOnMetrics) {
    constexpr std::size_t kMessages = 40;
    Scenario scenario;
    scenario.config().add_group("line-1", "CG-A");
    // Stands in for /var/lib/prometheus/node-exporter: the file is named as in
    // the example config, in a directory of its own like Debian's.
    const auto textfile_dir = scenario.dir().path() / "node-exporter";
    std::filesystem::create_directory(textfile_dir);
    const auto textfile = textfile_dir / "iot-amqpd.prom";
    scenario.write_config_text(scenario.config().to_yaml() + "metrics:\n  textfile: " + textfile.string() +
                               "\n  interval: 1s\n");

    const PrivateNodeExporter exporter(textfile_dir, scenario.dir().path());
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready());
    ASSERT_TRUE(scenario.wait_for_links("CG-A", 1));
    scenario.publish("CG-A", kMessages, "nx-");
    ASSERT_TRUE(scenario.wait_all_accepted({"CG-A"}, 30s));

    const auto written = static_cast<double>(kMessages);
    const auto delivered = static_cast<double>(scenario.counters("CG-A").delivered);
    std::string last;
    auto value = [&](std::string_view series) { return sample_value(last, series).value_or(-1); };
    ASSERT_TRUE(wait_until(
        "node_exporter serves the daemon's counts",
        [&] {
            last = exporter.scrape().value_or("");
            return value("iot_amqpd_messages_written_total{group=\"line-1\"}") == written &&
                   value("iot_amqpd_messages_received_total{group=\"line-1\"}") == delivered;
        },
        15s))
        << "last scrape:\n"
        << last << "\nnode_exporter:\n"
        << exporter.log();
    EXPECT_EQ(value("node_textfile_scrape_error"), 0) << last;
    EXPECT_EQ(value("iot_amqpd_connections_connected{group=\"line-1\"}"), 1) << last;
    EXPECT_GT(value("node_textfile_mtime_seconds{file=\"" + textfile.string() + "\"}"), 0) << last;

    // Scrapes across several rewrites (interval 1s): every one reads a whole
    // file, never the temporary one or a torn one.
    const auto until = std::chrono::steady_clock::now() + 3s;
    int scrapes = 0;
    while (std::chrono::steady_clock::now() < until) {
        last = exporter.scrape().value_or("");
        ++scrapes;
        ASSERT_EQ(value("node_textfile_scrape_error"), 0) << "scrape " << scrapes << ":\n" << last;
        ASSERT_EQ(value("iot_amqpd_messages_written_total{group=\"line-1\"}"), written) << last;
        ASSERT_EQ(last.find(".prom.tmp"), std::string::npos) << last;
        std::this_thread::sleep_for(50ms);
    }
    EXPECT_EQ(scenario.stop_daemon().code, 0);
}

}  // namespace
}  // namespace iot::test
