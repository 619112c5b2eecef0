#include "control_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace iot::emu {
namespace {

int connect_unix(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof addr.sun_path) return -1;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

}  // namespace

ControlClient::ControlClient(std::string socket_path, std::chrono::milliseconds timeout)
    : path_(std::move(socket_path)), timeout_(timeout) {}

ControlClient::~ControlClient() { disconnect(); }

void ControlClient::connect_socket() {
    if (fd_ >= 0) return;
    fd_ = connect_unix(path_);
    if (fd_ < 0) throw std::runtime_error("cannot connect to control socket " + path_ + ": " + std::strerror(errno));
    buffered_.clear();
}

void ControlClient::disconnect() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    buffered_.clear();
}

std::string ControlClient::request(std::string_view command) {
    connect_socket();
    std::string line(command);
    line += '\n';
    std::size_t done = 0;
    while (done < line.size()) {
        const ssize_t n = ::send(fd_, line.data() + done, line.size() - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            disconnect();
            throw std::runtime_error("control socket write failed");
        }
        done += static_cast<std::size_t>(n);
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout_;
    while (true) {
        if (const auto newline = buffered_.find('\n'); newline != std::string::npos) {
            std::string reply = buffered_.substr(0, newline);
            buffered_.erase(0, newline + 1);
            return reply;
        }
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            disconnect();
            throw std::runtime_error("control socket: no reply in time");
        }
        pollfd pfd{fd_, POLLIN, 0};
        const int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) continue;
        char buf[8192];
        const ssize_t n = ::read(fd_, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            disconnect();
            throw std::runtime_error("control socket closed before the reply");
        }
        buffered_.append(buf, static_cast<std::size_t>(n));
    }
}

Json ControlClient::call(std::string_view command) {
    Json reply = Json::parse(request(command));
    if (!reply["ok"].is_bool() || !reply["ok"].as_bool()) {
        const auto& error = reply["error"];
        throw std::runtime_error(std::string(command.substr(0, command.find(' '))) + ": " +
                                 (error.is_string() ? error.as_string() : reply.dump()));
    }
    return reply;
}

bool ControlClient::wait_until_ready(const std::string& socket_path, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        const int fd = connect_unix(socket_path);
        if (fd >= 0) {
            ::close(fd);
            return true;
        }
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

}  // namespace iot::emu
