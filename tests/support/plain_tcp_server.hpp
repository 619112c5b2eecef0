// A TCP listener on 127.0.0.1 that speaks no TLS: it answers every client
// with a plain AMQP 1.0 protocol header (what an AMQP server without TLS
// sends first) and records the first bytes each client sent, so a test can
// show the daemon began with a TLS ClientHello and gave up.
//
// Thread-safety: an internal thread accepts; public methods may be called
// from any thread.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace iot::test {

class PlainTcpServer {
public:
    // Binds 127.0.0.1 on a free port and starts accepting; throws std::runtime_error on failure.
    PlainTcpServer();
    ~PlainTcpServer();
    PlainTcpServer(const PlainTcpServer&) = delete;
    PlainTcpServer& operator=(const PlainTcpServer&) = delete;

    [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
    // The first bytes (up to 64) each accepted client sent, in order.
    [[nodiscard]] std::vector<std::string> first_bytes() const;

private:
    void accept_loop();

    int listen_fd_ = -1;
    int stop_fd_ = -1;  // eventfd that wakes accept_loop for shutdown
    std::uint16_t port_ = 0;
    mutable std::mutex mutex_;
    std::vector<std::string> first_bytes_;  // under mutex_
    std::thread thread_;                    // last: starts after everything it uses exists
};

// True when `bytes` start like a TLS handshake record (a ClientHello).
[[nodiscard]] bool looks_like_tls_client_hello(const std::string& bytes);

}  // namespace iot::test
