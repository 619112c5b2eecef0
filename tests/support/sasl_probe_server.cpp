#include "sasl_probe_server.hpp"

#include <proton/connection.hpp>
#include <proton/connection_options.hpp>
#include <proton/container.hpp>
#include <proton/error_condition.hpp>
#include <proton/listen_handler.hpp>
#include <proton/listener.hpp>
#include <proton/messaging_handler.hpp>
#include <proton/sasl.hpp>
#include <proton/ssl.hpp>
#include <proton/transport.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

namespace iot::test {

namespace {

using namespace std::chrono_literals;

constexpr auto kStartTimeout = 10s;
constexpr auto kClientTimeout = 10s;

// One client connection attempt; signals when its transport is gone.
class ProbeClient final : public proton::messaging_handler {
public:
    void on_connection_open(proton::connection& connection) override {
        opened_ = true;
        connection.close();
    }
    void on_transport_error(proton::transport& transport) override {
        if (!opened_) error_ = transport.error().what();
    }
    void on_connection_error(proton::connection& connection) override {
        if (!opened_) error_ = connection.error().what();
    }
    void on_transport_close(proton::transport&) override {
        const std::lock_guard lock(mutex_);
        done_ = true;
        finished_.notify_all();
    }
    void on_error(const proton::error_condition& condition) override {
        if (!opened_) error_ = condition.what();
    }

    bool wait(std::chrono::milliseconds timeout) {
        std::unique_lock lock(mutex_);
        return finished_.wait_for(lock, timeout, [this] { return done_; });
    }
    [[nodiscard]] std::string outcome() const {
        if (opened_) return {};
        return error_.empty() ? std::string("the connection did not open") : error_;
    }

private:
    bool opened_ = false;  // container thread only, read after join
    std::string error_;
    std::mutex mutex_;
    std::condition_variable finished_;
    bool done_ = false;
};

}  // namespace

class SaslProbeServer::Impl final : public proton::messaging_handler, public proton::listen_handler {
public:
    Impl(const std::string& cert_file, const std::string& key_file, std::string mechanisms)
        : mechanisms_(std::move(mechanisms)),
          ssl_(proton::ssl_certificate(cert_file, key_file)),
          container_(*this, "iot-sasl-probe") {
        container_.listen("127.0.0.1:0", static_cast<proton::listen_handler&>(*this));
        thread_ = std::thread([this] {
            try {
                container_.run();
            } catch (const std::exception& e) {
                record_error(std::string("container: ") + e.what());
            }
        });
        std::unique_lock lock(mutex_);
        if (!started_.wait_for(lock, kStartTimeout, [this] { return port_ != 0 || !listen_error_.empty(); }) ||
            port_ == 0) {
            const std::string why = listen_error_.empty() ? "timed out" : listen_error_;
            lock.unlock();
            stop();
            throw std::runtime_error("SaslProbeServer cannot listen: " + why);
        }
    }

    ~Impl() override { stop(); }

    void stop() {
        container_.stop();
        if (thread_.joinable()) thread_.join();
    }

    // ---- listen_handler (container thread) ----
    proton::connection_options on_accept(proton::listener&) override {
        {
            const std::lock_guard lock(mutex_);
            ++accepted_;
        }
        proton::connection_options options;
        options.ssl_server_options(ssl_).sasl_enabled(true).sasl_allowed_mechs(mechanisms_);
        return options;
    }
    void on_open(proton::listener& listener) override {
        const std::lock_guard lock(mutex_);
        port_ = static_cast<std::uint16_t>(listener.port());
        started_.notify_all();
    }
    void on_error(proton::listener&, const std::string& what) override {
        const std::lock_guard lock(mutex_);
        listen_error_ = what;
        started_.notify_all();
    }

    // ---- messaging_handler (container thread) ----
    void on_connection_open(proton::connection& connection) override {
        {
            const std::lock_guard lock(mutex_);
            mechanisms_used_.push_back(connection.transport().sasl().mech());
        }
        connection.open();
        connection.close();
    }
    void on_transport_error(proton::transport& transport) override { record_error(transport.error().what()); }
    void on_error(const proton::error_condition& condition) override { record_error(condition.what()); }

    void record_error(const std::string& what) {
        const std::lock_guard lock(mutex_);
        errors_.push_back(what);
    }

    mutable std::mutex mutex_;
    std::condition_variable started_;
    std::uint16_t port_ = 0;
    std::string listen_error_;
    std::size_t accepted_ = 0;
    std::vector<std::string> mechanisms_used_;
    std::vector<std::string> errors_;

private:
    std::string mechanisms_;
    proton::ssl_server_options ssl_;
    proton::container container_;
    std::thread thread_;  // last: runs the container built above
};

SaslProbeServer::SaslProbeServer(const std::string& cert_file, const std::string& key_file,
                                 const std::string& mechanisms)
    : impl_(std::make_unique<Impl>(cert_file, key_file, mechanisms)) {}

SaslProbeServer::~SaslProbeServer() = default;

std::uint16_t SaslProbeServer::port() const {
    const std::lock_guard lock(impl_->mutex_);
    return impl_->port_;
}

std::vector<std::string> SaslProbeServer::authenticated_mechanisms() const {
    const std::lock_guard lock(impl_->mutex_);
    return impl_->mechanisms_used_;
}

std::size_t SaslProbeServer::connections_accepted() const {
    const std::lock_guard lock(impl_->mutex_);
    return impl_->accepted_;
}

std::vector<std::string> SaslProbeServer::errors() const {
    const std::lock_guard lock(impl_->mutex_);
    return impl_->errors_;
}

std::string SaslProbeServer::connect_with_mechanism(const std::string& mechanism, const std::string& ca_file) const {
    ProbeClient client;
    proton::container container(client, "iot-sasl-probe-client");
    proton::connection_options options;
    options.sasl_enabled(true).sasl_allowed_mechs(mechanism).user("probe").ssl_client_options(
        proton::ssl_client_options(ca_file, proton::ssl::VERIFY_PEER_NAME));
    container.connect("amqps://localhost:" + std::to_string(port()), options);
    std::thread runner([&container] { container.run(); });
    const bool finished = client.wait(kClientTimeout);
    container.stop();
    runner.join();
    if (!finished) return "no outcome within 10 s";
    return client.outcome();
}

}  // namespace iot::test
