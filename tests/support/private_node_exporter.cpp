#include "private_node_exporter.hpp"

#include <sstream>
#include <stdexcept>
#include <vector>

#include "http_get.hpp"
#include "subprocess.hpp"
#include "wait_until.hpp"

namespace iot::test {
namespace {

using namespace std::chrono_literals;

constexpr auto kStartTimeout = 10s;
constexpr auto kScrapeTimeout = 5s;
// The port is picked free but taken only when node_exporter binds it, so
// another process can win the race: then try another.
constexpr int kStartAttempts = 3;

}  // namespace

PrivateNodeExporter::PrivateNodeExporter(const std::filesystem::path& textfile_dir,
                                         const std::filesystem::path& log_dir) {
    if (!std::filesystem::exists(kProgram)) {
        throw std::runtime_error(std::string(kProgram) +
                                 " is missing: install prometheus-node-exporter (scripts/install-deps.sh)");
    }
    for (int attempt = 1; attempt <= kStartAttempts; ++attempt) {
        port_ = free_loopback_port();
        SpawnOptions options;
        options.program = kProgram;
        // Only the textfile collector: the others read /proc and /sys, which
        // cost time and say nothing about the daemon.
        options.args = {"--web.listen-address=127.0.0.1:" + std::to_string(port_), "--collector.disable-defaults",
                        "--collector.textfile", "--collector.textfile.directory=" + textfile_dir.string()};
        options.stdout_file = log_dir / "node-exporter.out";
        options.stderr_file = log_dir / "node-exporter.log";
        process_ = std::make_unique<Subprocess>(options);
        bool exited = false;
        const auto answered = wait_until(
            "node_exporter answers on /metrics",
            [&] {
                exited = !process_->running();
                return exited || scrape().has_value();
            },
            kStartTimeout, 50ms);
        if (static_cast<bool>(answered) && !exited) return;
        if (!exited) break;  // running but silent: another attempt would not help
    }
    const std::string text = log();
    process_.reset();
    throw std::runtime_error("node_exporter did not start:\n" + text);
}

PrivateNodeExporter::~PrivateNodeExporter() = default;  // Subprocess kills and reaps it

std::optional<std::string> PrivateNodeExporter::scrape() const {
    auto response = http_get(port_, "/metrics", kScrapeTimeout);
    if (!response || response->status != 200) return std::nullopt;
    return std::move(response->body);
}

std::string PrivateNodeExporter::log() const { return process_ ? process_->stderr_text() : std::string(); }

std::optional<double> sample_value(const std::string& exposition, std::string_view series) {
    std::istringstream lines(exposition);
    std::string line;
    while (std::getline(lines, line)) {
        // "<series> <value>" (node_exporter writes no timestamps).
        if (line.size() <= series.size() || line.compare(0, series.size(), series) != 0 || line[series.size()] != ' ') {
            continue;
        }
        try {
            return std::stod(line.substr(series.size() + 1));
        } catch (const std::exception&) {
            return std::nullopt;
        }
    }
    return std::nullopt;
}

}  // namespace iot::test
