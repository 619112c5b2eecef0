// A NOTIFY_SOCKET for the daemon under test: an AF_UNIX datagram socket
// whose datagrams ("READY=1", "STATUS=...", "WATCHDOG=1", ...) a background
// thread collects with their arrival times.
//
// Thread-safety: the receiving thread is internal; every public method may
// be called from any thread (state is under mutex_).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace iot::test {

struct NotifyDatagram {
    std::chrono::steady_clock::time_point received;
    std::string text;  // as sent: one or more "KEY=VALUE" lines

    // True when one of its lines is exactly `assignment` ("READY=1").
    [[nodiscard]] bool has_line(std::string_view assignment) const;
    // The value of KEY= in this datagram, if present.
    [[nodiscard]] std::optional<std::string> value_of(std::string_view key) const;
};

class NotifyListener {
public:
    // Binds `socket_path` (must not exist; at most 107 bytes) and starts receiving.
    explicit NotifyListener(std::filesystem::path socket_path);
    ~NotifyListener();

    NotifyListener(const NotifyListener&) = delete;
    NotifyListener& operator=(const NotifyListener&) = delete;
    NotifyListener(NotifyListener&&) = delete;
    NotifyListener& operator=(NotifyListener&&) = delete;

    [[nodiscard]] const std::filesystem::path& socket_path() const noexcept { return path_; }

    [[nodiscard]] std::vector<NotifyDatagram> datagrams() const;
    // Datagrams received at or after `since`.
    [[nodiscard]] std::vector<NotifyDatagram> datagrams_since(std::chrono::steady_clock::time_point since) const;

    // How many datagrams carried the line `assignment` (e.g. "WATCHDOG=1").
    [[nodiscard]] std::size_t count(std::string_view assignment) const;
    [[nodiscard]] std::size_t count_since(std::string_view assignment,
                                          std::chrono::steady_clock::time_point since) const;

    // Waits until at least `occurrences` datagrams carrying `assignment` arrived in total.
    [[nodiscard]] ::testing::AssertionResult wait_for(std::string_view assignment, std::chrono::milliseconds timeout,
                                                      std::size_t occurrences = 1) const;
    // Waits for a datagram carrying `assignment` that arrived at or after `since`.
    [[nodiscard]] ::testing::AssertionResult wait_for_since(std::string_view assignment,
                                                            std::chrono::steady_clock::time_point since,
                                                            std::chrono::milliseconds timeout) const;

    // Gaps between consecutive datagrams carrying `assignment` (e.g. watchdog pings).
    [[nodiscard]] std::vector<std::chrono::milliseconds> intervals(std::string_view assignment) const;
    // Arrival time of the latest datagram carrying `assignment`.
    [[nodiscard]] std::optional<std::chrono::steady_clock::time_point> last_time(std::string_view assignment) const;

    // The latest value of KEY= ("STATUS"), if any datagram carried it.
    [[nodiscard]] std::optional<std::string> last_value(std::string_view key) const;

    // Every datagram, one per line with its offset from the first, for failure output.
    [[nodiscard]] std::string transcript() const;

private:
    void receive_loop();

    std::filesystem::path path_;
    int socket_fd_ = -1;
    int stop_fd_ = -1;  // eventfd that wakes receive_loop for shutdown

    mutable std::mutex mutex_;
    mutable std::condition_variable arrived_;
    std::vector<NotifyDatagram> datagrams_;  // under mutex_

    std::thread thread_;  // last: starts after everything it uses exists
};

}  // namespace iot::test
