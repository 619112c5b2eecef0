#include "plain_tcp_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace iot::test {

namespace {

constexpr int kReadTimeoutMs = 3000;
constexpr std::size_t kKeptBytes = 64;
// "AMQP" 0 1 0 0: AMQP 1.0 without TLS or SASL.
constexpr char kAmqpHeader[] = {'A', 'M', 'Q', 'P', 0, 1, 0, 0};

std::runtime_error system_error(const char* what) {
    return std::runtime_error(std::string(what) + ": " + std::strerror(errno));
}

}  // namespace

bool looks_like_tls_client_hello(const std::string& bytes) {
    // Record type 22 (handshake), version 3.x, then handshake type 1 (ClientHello).
    return bytes.size() >= 6 && bytes[0] == 0x16 && bytes[1] == 0x03 && bytes[5] == 0x01;
}

PlainTcpServer::PlainTcpServer() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) throw system_error("socket");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof address;
    if (::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listen_fd_, 16) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        const auto error = system_error("bind/listen");
        ::close(listen_fd_);
        throw error;
    }
    port_ = ntohs(address.sin_port);
    stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
    if (stop_fd_ < 0) {
        const auto error = system_error("eventfd");
        ::close(listen_fd_);
        throw error;
    }
    thread_ = std::thread([this] { accept_loop(); });
}

PlainTcpServer::~PlainTcpServer() {
    const std::uint64_t one = 1;
    (void)!::write(stop_fd_, &one, sizeof one);
    if (thread_.joinable()) thread_.join();
    ::close(stop_fd_);
    ::close(listen_fd_);
}

std::vector<std::string> PlainTcpServer::first_bytes() const {
    const std::lock_guard lock(mutex_);
    return first_bytes_;
}

void PlainTcpServer::accept_loop() {
    for (;;) {
        pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            return;
        }
        if ((fds[1].revents & POLLIN) != 0) return;
        if ((fds[0].revents & POLLIN) == 0) continue;
        const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (client < 0) continue;
        std::string received;
        pollfd readable{client, POLLIN, 0};
        if (::poll(&readable, 1, kReadTimeoutMs) > 0) {
            char buffer[kKeptBytes];
            const ssize_t got = ::recv(client, buffer, sizeof buffer, 0);
            if (got > 0) received.assign(buffer, static_cast<std::size_t>(got));
        }
        (void)!::send(client, kAmqpHeader, sizeof kAmqpHeader, MSG_NOSIGNAL);
        ::close(client);
        const std::lock_guard lock(mutex_);
        first_bytes_.push_back(std::move(received));
    }
}

}  // namespace iot::test
