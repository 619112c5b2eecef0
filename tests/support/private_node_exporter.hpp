// A node_exporter of the test's own (Debian 12's prometheus-node-exporter,
// /usr/bin/prometheus-node-exporter) with only the textfile collector, reading
// a directory the test chooses and listening on a free port on 127.0.0.1. The
// machine's own node_exporter service, if any, is never touched: ours is a
// child of the test (PR_SET_PDEATHSIG), killed and reaped by the destructor.
//
// Owned by the thread that created it (see subprocess.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace iot::test {

class Subprocess;

class PrivateNodeExporter {
public:
    static constexpr const char* kProgram = "/usr/bin/prometheus-node-exporter";

    // Starts it and waits until /metrics answers; throws std::runtime_error
    // (with its log) when it does not. Its output goes to log_dir.
    PrivateNodeExporter(const std::filesystem::path& textfile_dir, const std::filesystem::path& log_dir);
    ~PrivateNodeExporter();

    PrivateNodeExporter(const PrivateNodeExporter&) = delete;
    PrivateNodeExporter& operator=(const PrivateNodeExporter&) = delete;
    PrivateNodeExporter(PrivateNodeExporter&&) = delete;
    PrivateNodeExporter& operator=(PrivateNodeExporter&&) = delete;

    [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
    // The body of GET /metrics, or nullopt when it did not answer 200.
    [[nodiscard]] std::optional<std::string> scrape() const;
    [[nodiscard]] std::string log() const;

private:
    std::unique_ptr<Subprocess> process_;
    std::uint16_t port_ = 0;
};

// The value of one series in a text exposition ("name" or `name{label="v"}`,
// labels exactly as the exporter prints them); nullopt when absent.
[[nodiscard]] std::optional<double> sample_value(const std::string& exposition, std::string_view series);

}  // namespace iot::test
