// Client of the emulator's control socket, for integration tests and the `ctl`
// sub-command. One connection, one request at a time; not thread-safe.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "json.hpp"

namespace iot::emu {

class ControlClient {
public:
    explicit ControlClient(std::string socket_path, std::chrono::milliseconds timeout = std::chrono::seconds(60));
    ~ControlClient();
    ControlClient(const ControlClient&) = delete;
    ControlClient& operator=(const ControlClient&) = delete;

    // Sends one command line and returns the reply line (without the newline).
    // Throws std::runtime_error on connection failure or timeout.
    std::string request(std::string_view command);
    // The reply parsed; throws std::runtime_error when it says "ok": false.
    Json call(std::string_view command);

    // Polls until the socket accepts connections or `timeout` passes.
    static bool wait_until_ready(const std::string& socket_path, std::chrono::milliseconds timeout);

private:
    void connect_socket();
    void disconnect();

    std::string path_;
    std::chrono::milliseconds timeout_;
    int fd_ = -1;
    std::string buffered_;
};

}  // namespace iot::emu
