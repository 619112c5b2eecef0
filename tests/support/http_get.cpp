#include "http_get.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

namespace iot::test {
namespace {

sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    return address;
}

// Closes the socket on every return path.
struct Fd {
    int fd;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

using Clock = std::chrono::steady_clock;

// Waits for `events` until the deadline; false on timeout or error.
bool ready(int fd, short events, Clock::time_point deadline) {
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) return false;
        pollfd p{fd, events, 0};
        const int n = ::poll(&p, 1, static_cast<int>(left));
        if (n > 0) return true;
        if (n < 0 && errno != EINTR) return false;
    }
}

}  // namespace

std::optional<HttpResponse> http_get(std::uint16_t port, std::string_view path, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    const Fd socket{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)};
    if (socket.fd < 0) return std::nullopt;
    const sockaddr_in address = loopback(port);
    if (::connect(socket.fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        if (errno != EINPROGRESS || !ready(socket.fd, POLLOUT, deadline)) return std::nullopt;
        int error = 0;
        socklen_t length = sizeof error;
        if (::getsockopt(socket.fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0 || error != 0) return std::nullopt;
    }
    // HTTP/1.0 without keep-alive: the server closes after the body, so the
    // end of the stream is the end of the response (no chunking to decode).
    const std::string request = "GET " + std::string(path) + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    std::size_t sent = 0;
    while (sent < request.size()) {
        if (!ready(socket.fd, POLLOUT, deadline)) return std::nullopt;
        const ssize_t n = ::send(socket.fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EINTR) return std::nullopt;
        if (n > 0) sent += static_cast<std::size_t>(n);
    }
    std::string raw;
    char buffer[4096];
    for (;;) {
        if (!ready(socket.fd, POLLIN, deadline)) return std::nullopt;
        const ssize_t n = ::recv(socket.fd, buffer, sizeof buffer, 0);
        if (n == 0) break;
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) continue;
            return std::nullopt;
        }
        raw.append(buffer, static_cast<std::size_t>(n));
    }
    // "HTTP/1.x 200 OK\r\n...\r\n\r\nbody"
    const auto header_end = raw.find("\r\n\r\n");
    if (raw.rfind("HTTP/1.", 0) != 0 || raw.size() < 12 || header_end == std::string::npos) return std::nullopt;
    HttpResponse response;
    try {
        response.status = std::stoi(raw.substr(9, 3));
    } catch (const std::exception&) {
        return std::nullopt;
    }
    response.body = raw.substr(header_end + 4);
    return response;
}

std::uint16_t free_loopback_port() {
    const Fd socket{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    sockaddr_in address = loopback(0);
    socklen_t length = sizeof address;
    if (socket.fd < 0 || ::bind(socket.fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
        ::getsockname(socket.fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        throw std::runtime_error("no free port on 127.0.0.1");
    }
    return ntohs(address.sin_port);
}

}  // namespace iot::test
