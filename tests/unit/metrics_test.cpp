#include "iot-amqpd/metrics.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <sstream>

namespace iot {
namespace {

TEST(Metrics, RendersValidPrometheusTextFormat) {
    GroupMetrics g;
    g.group = "factory-\"a\"";
    g.received = 10;
    g.written = 9;
    g.duplicates = 1;
    g.connected = 2;
    g.connections = 2;
    g.seconds_since_last_message = 1.5;
    g.journal_dropped = 7;
    g.journal_queue_full = 55;
    g.dedup_ids = 1234;
    g.credit_window = 400;
    g.output_holding = true;
    ProcessMetrics p;
    p.uptime_seconds = 12.25;
    p.reloads_succeeded = 3;
    const std::string text = render_metrics({g}, p);
    EXPECT_NE(text.find("iot_amqpd_messages_written_total{group=\"factory-\\\"a\\\"\"} 9\n"), std::string::npos);
    EXPECT_NE(text.find("iot_amqpd_reloads_total{result=\"succeeded\"} 3\n"), std::string::npos);
    EXPECT_NE(text.find("iot_amqpd_journal_dropped_total{group=\"factory-\\\"a\\\"\"} 7\n"), std::string::npos);
    EXPECT_NE(text.find("iot_amqpd_journal_queue_full_total{group=\"factory-\\\"a\\\"\"} 55\n"), std::string::npos);
    EXPECT_NE(text.find("iot_amqpd_dedup_window_ids{group=\"factory-\\\"a\\\"\"} 1234\n"), std::string::npos);
    EXPECT_NE(text.find("iot_amqpd_journal_not_storing{group=\"factory-\\\"a\\\"\"} 1\n"), std::string::npos);
    EXPECT_NE(text.find("iot_amqpd_credit_window{group=\"factory-\\\"a\\\"\"} 400\n"), std::string::npos);
    // Every line is a comment or `name{labels} value`.
    const std::regex sample(R"(^[a-z_]+(\{[a-z_]+="([^"\\]|\\.)*"\})? -?[0-9.]+$)");
    std::istringstream lines(text);
    std::string line;
    int samples = 0;
    while (std::getline(lines, line)) {
        if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) continue;
        EXPECT_TRUE(std::regex_match(line, sample)) << line;
        ++samples;
    }
    EXPECT_EQ(samples, 17);
}

TEST(Metrics, WritesTheFileAtomically) {
    char tmpl[] = "/tmp/iot-metrics-XXXXXX";
    const std::string dir = ::mkdtemp(tmpl);
    const std::string path = dir + "/metrics.prom";
    const mode_t previous = ::umask(077);  // the service's umask: the file must still be readable by node_exporter
    ASSERT_EQ(write_file_atomically(path, "a 1\n"), 0);
    ::umask(previous);
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0644U);
    ASSERT_EQ(write_file_atomically(path, "a 2\n"), 0);
    std::ifstream in(path);
    std::stringstream got;
    got << in.rdbuf();
    EXPECT_EQ(got.str(), "a 2\n");
    EXPECT_NE(::access((path + ".tmp").c_str(), F_OK), 0);
    EXPECT_NE(write_file_atomically(dir + "/missing/metrics.prom", "x"), 0);
    ::unlink(path.c_str());
    ::rmdir(dir.c_str());
}

}  // namespace
}  // namespace iot
