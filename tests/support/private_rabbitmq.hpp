// A RabbitMQ node of the test's own (Debian 12's rabbitmq-server 3.10 with its
// rabbitmq_amqp1_0 plugin), the real AMQP 1.0 broker behind the `amqp` cloud
// profile's tests. The machine's own node, if any, is never touched: ours has
// its own directory (HOME, cookie, configuration, database, logs) under a
// temporary directory, its own node name, its own epmd, and its own
// distribution and AMQP/AMQPS ports on 127.0.0.1, all picked free at start.
//
// beam.smp and epmd are children of this process (the server script is run
// the way systemd runs it, so it execs beam instead of forking it), so
// PR_SET_PDEATHSIG ends both if the test process dies; stop() and the
// destructor stop them and remove the directory: nothing is left behind.
//
// Thread: owned by the thread that calls start() (PR_SET_PDEATHSIG fires when
// that thread exits): a test's main thread or SetUpTestSuite. A suite can
// share one node across its tests (start in SetUpTestSuite, purge_queue() in
// SetUp): a start costs seconds, every other call well under one.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "amqp_publisher.hpp"
#include "amqp_test_message.hpp"

namespace iot::test {

class Subprocess;
class TempDir;

struct RabbitmqOptions {
    std::string user = "iot-tests";  // the only user: SASL PLAIN, all rights on vhost "/"
    std::string password = "iot-tests-secret";
    std::vector<std::string> classic_queues = {"telemetry"};  // durable classic queues, made at boot
    std::vector<std::string> quorum_queues;                   // durable quorum queues, made at boot
};

class PrivateRabbitmq {
public:
    PrivateRabbitmq();
    ~PrivateRabbitmq();  // stop()
    PrivateRabbitmq(const PrivateRabbitmq&) = delete;
    PrivateRabbitmq& operator=(const PrivateRabbitmq&) = delete;
    PrivateRabbitmq(PrivateRabbitmq&&) = delete;
    PrivateRabbitmq& operator=(PrivateRabbitmq&&) = delete;

    // Starts epmd and the node and waits (bounded) until the node runs with
    // its plugin, user and queues; stops a running one first. Throws
    // std::runtime_error with the node's log when it fails to boot.
    void start(const RabbitmqOptions& options = {});
    // Stops the node (SIGTERM: a clean shutdown; SIGKILL after 30 s) and
    // epmd, and removes the node's directory. No-op when none runs.
    void stop();
    [[nodiscard]] bool running();

    [[nodiscard]] const RabbitmqOptions& options() const noexcept { return options_; }
    // Both listen on 127.0.0.1 only.
    [[nodiscard]] std::uint16_t amqp_port() const noexcept { return amqp_port_; }
    [[nodiscard]] std::uint16_t amqps_port() const noexcept { return amqps_port_; }
    // The AMQPS listener's certificate is test_certs().server_cert (SAN
    // localhost, 127.0.0.1, ::1), so clients verify it against this CA.
    [[nodiscard]] std::string ca_file() const;
    // Where a client connects: "localhost". proton-cpp 0.37 does not verify the
    // certificate for "127.0.0.1" (amqp:connection:framing-error, certificate
    // verify failed) although it has that IP SAN.
    [[nodiscard]] static std::string host() { return "localhost"; }
    // The endpoint a client of our user reaches the AMQPS (tls) or AMQP listener at.
    [[nodiscard]] AmqpEndpoint endpoint(bool tls = true) const;

    // The AMQP 1.0 address of an existing queue, as source or target:
    // "/amq/queue/NAME". Measured on 3.10 as a target: "/queue/NAME" and a
    // bare "NAME" declare the queue from the terminus and fail against a
    // durable one (amqp:precondition-failed, inequivalent arg 'durable');
    // "/exchange/amq.default/NAME" is amqp:not-found (no exchange 'amq.default').
    [[nodiscard]] static std::string queue_address(const std::string& queue);

    // Publishes over AMQPS as our user and returns once the broker has
    // accepted every message (see publish_amqp). Throws std::runtime_error.
    // Beware: RabbitMQ accepts, and drops, messages sent to a queue that does
    // not exist ("/amq/queue/missing"): a misspelt queue loses them silently.
    void publish(const std::string& queue, const std::vector<AmqpTestMessage>& messages,
                 std::chrono::milliseconds timeout = std::chrono::seconds(30)) const;

    // Messages in the queue, ready plus delivered but not yet settled
    // (`rabbitmqctl list_queues messages`, ~0.5 s). Throws when the queue is
    // unknown. A classic queue answers itself; a quorum queue's count is a
    // statistic refreshed every 0.5 s here, so wait for it with wait_until.
    [[nodiscard]] std::int64_t queue_depth(const std::string& queue);
    // Messages delivered to a consumer and not yet settled by it
    // (`rabbitmqctl list_queues messages_unacknowledged`).
    [[nodiscard]] std::int64_t unacknowledged(const std::string& queue);
    // Drops every message of the queue (between the tests sharing a node).
    void purge_queue(const std::string& queue);
    // `rabbitmqctl close_all_connections`. On 3.10 this closes the internal
    // AMQP 0-9-1 connection behind each AMQP 1.0 session: the client sees its
    // session end (amqp:internal-error, "server_initiated_close,320"), while
    // its AMQP 1.0 connection stays open until the client closes it.
    void close_all_connections();
    // Stops the node and boots it again on the same ports with the same data
    // (durable queues keep their persistent messages), as a broker restart
    // would: a client sees its session end (amqp:internal-error "shutdown") or
    // its connection aborted. 1-4 s to stop, seconds to boot.
    void restart();

    // The node's console log (rabbitmq.conf's log.console), its last `max_bytes`.
    [[nodiscard]] std::string log_tail(std::size_t max_bytes = 4000) const;
    // How long the node took to boot in the last start() or restart().
    [[nodiscard]] std::chrono::steady_clock::duration start_time() const noexcept { return start_time_; }

private:
    [[nodiscard]] std::int64_t queue_column(const std::string& queue, const std::string& column);
    bool try_start();
    // Starts beam on the prepared directory and ports and waits until the node
    // runs; false when its ports were taken (eaddrinuse), throws otherwise.
    bool boot();
    void stop_server();
    std::string rabbitmqctl(const std::vector<std::string>& args, std::chrono::milliseconds timeout);
    [[nodiscard]] std::vector<std::pair<std::string, std::string>> environment() const;

    RabbitmqOptions options_;
    std::unique_ptr<TempDir> dir_;
    std::unique_ptr<Subprocess> epmd_;
    std::unique_ptr<Subprocess> server_;
    std::string node_name_;
    std::uint16_t epmd_port_ = 0;
    std::uint16_t dist_port_ = 0;
    std::uint16_t amqp_port_ = 0;
    std::uint16_t amqps_port_ = 0;
    int ctl_runs_ = 0;
    std::chrono::steady_clock::duration start_time_{};
};

}  // namespace iot::test
