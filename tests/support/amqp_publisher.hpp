// Publishing to an AMQP 1.0 broker from a test, the way a cloud's devices
// would: a proton-cpp sender on a connection of its own, on a container
// thread of its own, that returns once the broker has accepted (settled)
// every message, so a test that then starts the daemon knows they are queued.
//
// Stateless; call from any thread (each call runs and joins its own container).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "amqp_test_message.hpp"

namespace iot::test {

struct AmqpEndpoint {
    // Also the name the server certificate is checked against (and the TLS SNI).
    std::string host = "localhost";
    std::uint16_t port = 0;
    bool tls = true;
    std::string ca_file;  // with tls: verify the server against this CA and `host`
    std::string user;     // SASL PLAIN
    std::string password;
};

// Sends `messages` in order to the target `address` and waits until the
// broker has accepted each. Throws std::runtime_error naming the broker's
// error (a refused attach, a rejected or released message, a failed login)
// or, after `timeout`, how many were accepted.
void publish_amqp(const AmqpEndpoint& endpoint, const std::string& address,
                  const std::vector<AmqpTestMessage>& messages,
                  std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace iot::test
