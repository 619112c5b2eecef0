#include "amqp_publisher.hpp"

#include <proton/connection.hpp>
#include <proton/connection_options.hpp>
#include <proton/container.hpp>
#include <proton/error_condition.hpp>
#include <proton/message.hpp>
#include <proton/messaging_handler.hpp>
#include <proton/sender.hpp>
#include <proton/session.hpp>
#include <proton/ssl.hpp>
#include <proton/tracker.hpp>
#include <proton/transport.hpp>

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace iot::test {
namespace {

// Everything but the constructor and wait() runs on the container thread.
class Publisher final : public proton::messaging_handler {
public:
    Publisher(const AmqpEndpoint& endpoint, const std::string& address, const std::vector<AmqpTestMessage>& messages)
        : endpoint_(endpoint), address_(address), messages_(messages) {}

    // True when every message was accepted; otherwise `error` says why.
    bool wait(std::chrono::milliseconds timeout, std::string& error) {
        std::unique_lock lock(mutex_);
        if (!done_.wait_for(lock, timeout, [this] { return finished_ || ended_; })) {
            error = "timed out after " + std::to_string(timeout.count()) + " ms with " + std::to_string(accepted_) +
                    " of " + std::to_string(messages_.size()) + " messages accepted";
            return false;
        }
        error = finished_ ? error_ : "the container stopped before all were accepted";
        return finished_ && error_.empty();
    }

    // The container's run() has returned: the connection is closed.
    void ended() {
        std::lock_guard lock(mutex_);
        ended_ = true;
        done_.notify_all();
    }
    bool wait_for_end(std::chrono::milliseconds timeout) {
        std::unique_lock lock(mutex_);
        return done_.wait_for(lock, timeout, [this] { return ended_; });
    }

    void on_container_start(proton::container& container) override {
        proton::connection_options options;
        options.user(endpoint_.user).password(endpoint_.password).sasl_allowed_mechs("PLAIN");
        if (endpoint_.tls) {
            options.ssl_client_options(proton::ssl_client_options(endpoint_.ca_file, proton::ssl::VERIFY_PEER_NAME));
        } else {
            // proton's own SASL sends PLAIN in the clear only when told to.
            options.sasl_allow_insecure_mechs(true);
        }
        const std::string scheme = endpoint_.tls ? "amqps://" : "amqp://";
        container.connect(scheme + endpoint_.host + ":" + std::to_string(endpoint_.port), options);
    }

    void on_connection_open(proton::connection& connection) override {
        if (messages_.empty()) {
            finish(connection, "");
            return;
        }
        connection.open_sender(address_);
    }

    void on_sendable(proton::sender& sender) override {
        while (sent_ < messages_.size() && sender.credit() > 0) sender.send(to_proton(messages_[sent_++]));
    }

    void on_tracker_accept(proton::tracker& tracker) override {
        std::size_t accepted = 0;
        {
            std::lock_guard lock(mutex_);
            accepted = ++accepted_;
        }
        if (accepted == messages_.size()) finish(tracker.connection(), "");
    }
    void on_tracker_reject(proton::tracker& tracker) override {
        finish(tracker.connection(),
               "the broker rejected message " + std::to_string(accepted_) + ": " + tracker.sender().error().what());
    }
    void on_tracker_release(proton::tracker& tracker) override {
        finish(tracker.connection(), "the broker released a message (no route to " + address_ + "?)");
    }

    // RabbitMQ refuses an attach by ending the session, not the link.
    void on_session_error(proton::session& session) override {
        finish(session.connection(), "session: " + session.error().what());
    }
    void on_sender_error(proton::sender& sender) override {
        finish(sender.connection(), "sender: " + sender.error().what());
    }
    void on_connection_error(proton::connection& connection) override {
        finish(connection, "connection: " + connection.error().what());
    }
    void on_transport_error(proton::transport& transport) override { record("transport: " + transport.error().what()); }
    void on_transport_close(proton::transport&) override { record("the connection closed before all were accepted"); }

private:
    void finish(proton::connection connection, const std::string& error) {
        record(error);
        connection.close();
    }

    // The first outcome wins: an error after success (the close) changes nothing.
    void record(const std::string& error) {
        std::lock_guard lock(mutex_);
        if (finished_) return;
        finished_ = true;
        error_ = error;
        done_.notify_all();
    }

    const AmqpEndpoint& endpoint_;
    const std::string& address_;
    const std::vector<AmqpTestMessage>& messages_;
    std::size_t sent_ = 0;

    std::mutex mutex_;
    std::condition_variable done_;
    bool finished_ = false;
    bool ended_ = false;
    std::size_t accepted_ = 0;
    std::string error_;
};

}  // namespace

void publish_amqp(const AmqpEndpoint& endpoint, const std::string& address,
                  const std::vector<AmqpTestMessage>& messages, std::chrono::milliseconds timeout) {
    Publisher publisher(endpoint, address, messages);
    proton::container container(publisher);
    std::thread thread([&container, &publisher] {
        try {
            container.run();
        } catch (const std::exception&) {
            // Reported through the handler (or as the timeout) instead.
        }
        publisher.ended();
    });
    std::string error;
    const bool ok = publisher.wait(timeout, error);
    // The broker's answer to our Close ends run() (the container stops with
    // its last connection); stop() is for a broker that does not answer.
    if (!publisher.wait_for_end(ok ? std::chrono::seconds(5) : std::chrono::seconds(1))) container.stop();
    thread.join();
    if (!ok) throw std::runtime_error("publishing to " + address + ": " + error);
}

}  // namespace iot::test
