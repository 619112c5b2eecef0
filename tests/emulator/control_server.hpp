// The control socket (--control PATH): a Unix stream socket served by one thread
// of its own; each line received is answered by ControlHandler with one JSON line.
#pragma once

#include <atomic>
#include <string>
#include <thread>

namespace iot::emu {

class ControlHandler;

class ControlServer {
public:
    // Binds and starts serving; throws std::runtime_error (path too long, in use...).
    ControlServer(std::string path, ControlHandler& handler);
    ~ControlServer();  // stop()
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    void stop();  // idempotent; removes the socket file
    [[nodiscard]] const std::string& path() const { return path_; }

private:
    void serve();

    std::string path_;
    ControlHandler& handler_;
    int listen_fd_ = -1;
    int wake_read_ = -1;
    int wake_write_ = -1;
    std::thread thread_;
};

}  // namespace iot::emu
