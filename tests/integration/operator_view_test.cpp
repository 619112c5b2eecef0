// What an operator sees: the Prometheus metrics file and the STATUS= line
// agree with what the emulator counted, and a group in trouble is named with
// its reason.

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>

#include "scenario.hpp"
#include "wait_until.hpp"

namespace iot::test {
namespace {

using namespace std::chrono_literals;

// Parses Prometheus text format strictly enough to catch a malformed file:
// every sample is preceded by HELP and TYPE lines for its family, names and
// labels are well formed, values are numbers. Returns "family{labels}" -> value.
::testing::AssertionResult parse_prometheus(const std::string& text, std::map<std::string, double>& samples) {
    const std::regex help(R"(^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$)");
    const std::regex type(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge)$)");
    const std::regex sample(
        R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"\})? (-?[0-9]+(?:\.[0-9]+)?)$)");
    std::string helped;
    std::string typed;
    std::istringstream lines(text);
    std::string line;
    int number = 0;
    while (std::getline(lines, line)) {
        ++number;
        std::smatch m;
        if (std::regex_match(line, m, help)) {
            helped = m[1];
        } else if (std::regex_match(line, m, type)) {
            if (m[1] != helped) return ::testing::AssertionFailure() << "line " << number << ": TYPE without HELP";
            typed = m[1];
        } else if (std::regex_match(line, m, sample)) {
            if (m[1] != typed)
                return ::testing::AssertionFailure() << "line " << number << ": sample outside its family";
            samples[std::string(m[1]) + std::string(m[2])] = std::stod(m[3]);
        } else {
            return ::testing::AssertionFailure() << "line " << number << " is not Prometheus text format: " << line;
        }
    }
    if (!text.empty() && text.back() != '\n') return ::testing::AssertionFailure() << "no final newline";
    return ::testing::AssertionSuccess();
}

std::string read_text(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

TEST(OperatorView, MetricsFileAndStatusMatchTheEmulatorsCounters) {
    constexpr std::size_t kPerGroup = 500;
    Scenario scenario;
    scenario.config().add_group("line-1", "CG-A", 2);
    scenario.config().add_group("line-2", "CG-B", 1);
    const auto metrics = scenario.dir().path() / "metrics.prom";
    scenario.write_config_text(scenario.config().to_yaml() + "metrics:\n  textfile: " + metrics.string() +
                               "\n  interval: 1s\n");
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready());
    ASSERT_TRUE(wait_until(
        "3 links attached",
        [&] { return scenario.counters("CG-A").links == 2 && scenario.counters("CG-B").links == 1; }, 20s));
    scenario.publish("CG-A", kPerGroup, "ma-", "kind=mixed");
    scenario.publish("CG-B", kPerGroup, "mb-", "kind=mixed");
    ASSERT_TRUE(scenario.wait_all_accepted({"CG-A", "CG-B"}, 60s));

    std::map<std::string, double> samples;
    ASSERT_TRUE(wait_until(
        "the metrics file counts every accepted message",
        [&] {
            samples.clear();
            const std::string text = read_text(metrics);
            return parse_prometheus(text, samples) &&
                   samples["iot_amqpd_messages_written_total{group=\"line-1\"}"] == kPerGroup &&
                   samples["iot_amqpd_messages_written_total{group=\"line-2\"}"] == kPerGroup;
        },
        10s))
        << read_text(metrics);
    const std::string text = read_text(metrics);
    ASSERT_TRUE(parse_prometheus(text, samples)) << text;
    EXPECT_EQ(samples["iot_amqpd_messages_received_total{group=\"line-1\"}"],
              static_cast<double>(scenario.counters("CG-A").delivered));
    EXPECT_EQ(samples["iot_amqpd_connections_connected{group=\"line-1\"}"], 2);
    EXPECT_EQ(samples["iot_amqpd_connections_connected{group=\"line-2\"}"], 1);
    EXPECT_EQ(samples["iot_amqpd_write_failures_total{group=\"line-1\"}"], 0);
    EXPECT_EQ(samples["iot_amqpd_auth_failures_total{group=\"line-2\"}"], 0);
    EXPECT_GE(samples["iot_amqpd_seconds_since_last_message{group=\"line-1\"}"], 0);
    EXPECT_GT(samples["iot_amqpd_uptime_seconds"], 0);
    EXPECT_EQ(samples.count("iot_amqpd_reloads_total{result=\"failed\"}"), 1U);

    const std::string expected_status =
        "2/2 groups connected, " + std::to_string(2 * kPerGroup) + " messages, 0 write errors, last message";
    ASSERT_TRUE(wait_until(
        "STATUS= counts every message",
        [&] { return scenario.notify().last_value("STATUS").value_or("").rfind(expected_status, 0) == 0; }, 10s))
        << scenario.notify().last_value("STATUS").value_or("(none)");
    EXPECT_EQ(scenario.stop_daemon().code, 0);
}

TEST(OperatorView, StatusNamesTheGroupThatCannotAuthenticate) {
    Scenario scenario;
    scenario.config().add_group("good", "CG-A");
    const auto wrong_secret = scenario.dir().path() / "wrong-secret";
    std::ofstream(wrong_secret) << "not-the-secret-0123456789";
    scenario.config()
        .add_group("bad", "CG-B")
        .extra_lines.push_back("access_key_secret_file: " + wrong_secret.string());
    scenario.write_config();
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready());
    ASSERT_TRUE(wait_until(
        "STATUS names the failing group and the reason",
        [&] {
            const auto status = scenario.notify().last_value("STATUS").value_or("");
            return status.find("1/2 groups connected") != std::string::npos &&
                   status.find("bad: authentication failed, retrying in ") != std::string::npos;
        },
        20s))
        << scenario.notify().last_value("STATUS").value_or("(none)");
    EXPECT_EQ(scenario.stop_daemon().code, 0);
}

}  // namespace
}  // namespace iot::test
