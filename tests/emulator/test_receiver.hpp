// A minimal proton-cpp AMQP receiver for loopback tests and the built-in
// benchmark: connects over TLS with SASL PLAIN (the client half of the
// emulator's SASL plugin), attaches one receiver with fixed credit, settles every
// message with a chosen outcome, and records what arrived.
// Runs its own container thread; the public methods are thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace iot::emu {

enum class Disposition { accept, release, reject, modify, none };

struct ReceiverOptions {
    std::string host = "127.0.0.1";  // also the name checked against the certificate
    std::uint16_t port = 0;
    std::string user;
    std::string password;
    std::string ca_file;                     // verify the server against this CA (and host name)
    bool tls = true;                         // false: plain TCP, to prove the server refuses it
    bool sasl = true;                        // false: skip SASL entirely
    std::uint32_t idle_timeout_ms = 120000;  // proton's setting: it advertises half
    int credit = 100;
    Disposition disposition = Disposition::accept;
    bool attach = true;           // false: open the connection but no link (link deadline)
    bool extra_receiver = false;  // attach a second receiver link (must be refused)
    bool sender_link = false;     // attach a sender link (must be refused)
    // The Open's hostname; empty: proton's default (the host). proton also
    // uses it as the TLS peer name, so a set one verifies the chain only.
    std::string virtual_host;
    std::string source;     // the receiver's source address (an IoTDA queue)
    int extra_sources = 0;  // more receivers on `source` after the first (link limits)
};

struct ReceivedMessage {
    std::string message_id;  // string, or a long printed in decimal
    bool message_id_is_long = false;
    std::string topic;
    std::int64_t generate_time = 0;
    bool has_properties = false;
    std::string body;       // bytes of the data section / string / nothing
    std::string body_type;  // "data", "string", "value", "empty"
};

class TestReceiver {
public:
    explicit TestReceiver(ReceiverOptions options);
    ~TestReceiver();  // stop()
    TestReceiver(const TestReceiver&) = delete;
    TestReceiver& operator=(const TestReceiver&) = delete;

    void start();
    void stop();  // closes the connection and joins the thread (bounded)

    void set_disposition(Disposition d);
    // Polls `condition` every 5 ms until it holds or `timeout` passes.
    static bool wait_for(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

    [[nodiscard]] bool opened() const;        // the server's Open arrived
    [[nodiscard]] bool link_open() const;     // our receiver link is attached
    [[nodiscard]] bool finished() const;      // the connection is gone
    [[nodiscard]] std::string error() const;  // first error condition seen: "name: description"
    [[nodiscard]] std::vector<std::string> link_errors() const;
    [[nodiscard]] std::size_t received() const;
    [[nodiscard]] std::vector<ReceivedMessage> messages() const;
    [[nodiscard]] std::uint32_t server_idle_timeout_ms() const;  // what the server advertised

private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace iot::emu
