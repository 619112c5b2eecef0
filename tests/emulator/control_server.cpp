#include "control_server.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <stdexcept>
#include <vector>

#include "control_protocol.hpp"

namespace iot::emu {
namespace {

constexpr std::size_t kMaxLine = 64 * 1024;

std::runtime_error sys_error(const std::string& what) { return std::runtime_error(what + ": " + std::strerror(errno)); }

bool write_all(int fd, const std::string& data) {
    std::size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        done += static_cast<std::size_t>(n);
    }
    return true;
}

}  // namespace

ControlServer::ControlServer(std::string path, ControlHandler& handler) : path_(std::move(path)), handler_(handler) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path_.empty() || path_.size() >= sizeof addr.sun_path)
        throw std::runtime_error("control socket path too long: " + path_);
    std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);

    struct stat st {};
    if (::lstat(path_.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(path_.c_str());  // stale socket

    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) throw sys_error("socket");
    if (::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        const auto err = sys_error("bind " + path_);
        ::close(listen_fd_);
        throw err;
    }
    ::chmod(path_.c_str(), 0600);
    int pipe_fds[2];
    if (::listen(listen_fd_, 16) != 0 || ::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) {
        const auto err = sys_error("listen " + path_);
        ::close(listen_fd_);
        ::unlink(path_.c_str());
        throw err;
    }
    wake_read_ = pipe_fds[0];
    wake_write_ = pipe_fds[1];
    thread_ = std::thread([this] { serve(); });
}

ControlServer::~ControlServer() { stop(); }

void ControlServer::stop() {
    if (!thread_.joinable()) return;
    const char byte = 'x';
    (void)!::write(wake_write_, &byte, 1);
    thread_.join();
    ::close(listen_fd_);
    ::close(wake_read_);
    ::close(wake_write_);
    ::unlink(path_.c_str());
}

void ControlServer::serve() {
    std::map<int, std::string> clients;  // fd -> bytes of an unfinished line
    while (true) {
        std::vector<pollfd> fds{{wake_read_, POLLIN, 0}, {listen_fd_, POLLIN, 0}};
        for (const auto& [fd, pending] : clients) fds.push_back({fd, POLLIN, 0});
        if (::poll(fds.data(), fds.size(), -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (fds[0].revents != 0) break;
        if ((fds[1].revents & POLLIN) != 0) {
            const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd >= 0) clients[fd];
        }
        for (std::size_t i = 2; i < fds.size(); ++i) {
            if (fds[i].revents == 0) continue;
            const int fd = fds[i].fd;
            char buf[4096];
            const ssize_t n = ::read(fd, buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            bool keep = n > 0;
            if (keep) {
                std::string& pending = clients[fd];
                pending.append(buf, static_cast<std::size_t>(n));
                std::size_t newline;
                while (keep && (newline = pending.find('\n')) != std::string::npos) {
                    const std::string line = pending.substr(0, newline);
                    pending.erase(0, newline + 1);
                    keep = write_all(fd, handler_.handle(line) + "\n");
                }
                if (pending.size() > kMaxLine) keep = false;
            }
            if (!keep) {
                ::close(fd);
                clients.erase(fd);
            }
        }
    }
    for (const auto& [fd, pending] : clients) ::close(fd);
}

}  // namespace iot::emu
