#include "test_receiver.hpp"

#include <proton/connection.hpp>
#include <proton/connection_options.hpp>
#include <proton/container.hpp>
#include <proton/delivery.hpp>
#include <proton/error_condition.hpp>
#include <proton/message.hpp>
#include <proton/messaging_handler.hpp>
#include <proton/receiver.hpp>
#include <proton/receiver_options.hpp>
#include <proton/sender.hpp>
#include <proton/ssl.hpp>
#include <proton/transport.hpp>
#include <proton/types.hpp>

#include <atomic>
#include <mutex>
#include <optional>
#include <thread>

#include "sasl_plugin.hpp"

namespace iot::emu {

class TestReceiver::Impl final : public proton::messaging_handler {
public:
    explicit Impl(ReceiverOptions options) : options_(std::move(options)), container_(*this) {}

    ~Impl() override { stop(); }

    void start() {
        install_sasl_plugin();
        thread_ = std::thread([this] {
            try {
                container_.run();
            } catch (const std::exception& e) {
                record_error(std::string("container: ") + e.what());
            }
            finished_ = true;
        });
    }

    void stop() {
        if (!thread_.joinable()) return;
        container_.stop();
        thread_.join();
        finished_ = true;
    }

    void on_container_start(proton::container& c) override {
        proton::connection_options opts;
        opts.idle_timeout(proton::duration(options_.idle_timeout_ms)).sasl_enabled(options_.sasl);
        if (options_.sasl) {
            opts.user(options_.user).password(options_.password).sasl_allowed_mechs("PLAIN");
        }
        if (options_.tls) {
            const auto verify =
                options_.virtual_host.empty() ? proton::ssl::VERIFY_PEER_NAME : proton::ssl::VERIFY_PEER;
            opts.ssl_client_options(proton::ssl_client_options(options_.ca_file, verify));
        }
        if (!options_.virtual_host.empty()) opts.virtual_host(options_.virtual_host);
        const std::string scheme = options_.tls ? "amqps://" : "amqp://";
        c.connect(scheme + options_.host + ":" + std::to_string(options_.port), opts);
    }

    void on_connection_open(proton::connection& c) override {
        server_idle_ = c.idle_timeout();
        opened_ = true;
        if (!options_.attach) return;
        receiver_ = c.open_receiver(options_.source, proton::receiver_options().credit_window(0).auto_accept(false));
        for (int i = 0; i < options_.extra_sources; ++i)
            c.open_receiver(options_.source, proton::receiver_options().credit_window(0));
        if (options_.extra_receiver) c.open_receiver("second", proton::receiver_options().credit_window(0));
        if (options_.sender_link) c.open_sender("upstream");
    }

    void on_receiver_open(proton::receiver& r) override {
        if (r == receiver_) {
            link_open_ = true;
            r.add_credit(options_.credit);
        }
    }

    void on_message(proton::delivery& d, proton::message& m) override {
        ReceivedMessage got;
        const auto& props = m.properties();
        got.has_properties = !props.empty();
        if (props.exists("messageId")) {
            const proton::scalar id = props.get("messageId");
            if (id.type() == proton::LONG) {
                got.message_id = std::to_string(proton::get<std::int64_t>(id));
                got.message_id_is_long = true;
            } else if (id.type() == proton::STRING) {
                got.message_id = proton::get<std::string>(id);
            }
        }
        if (props.exists("topic")) got.topic = proton::get<std::string>(props.get("topic"));
        if (props.exists("generateTime")) got.generate_time = proton::get<std::int64_t>(props.get("generateTime"));
        const proton::value& body = m.body();
        if (body.empty()) {
            got.body_type = "empty";
        } else if (body.type() == proton::BINARY) {
            const auto bin = proton::get<proton::binary>(body);
            got.body.assign(bin.begin(), bin.end());
            got.body_type = m.inferred() ? "data" : "value";
        } else if (body.type() == proton::STRING) {
            got.body = proton::get<std::string>(body);
            got.body_type = "string";
        } else {
            got.body_type = "value";
        }
        {
            std::lock_guard lock(mutex_);
            messages_.push_back(std::move(got));
        }
        ++received_;
        switch (disposition_.load()) {
            case Disposition::accept: d.accept(); break;
            case Disposition::release: d.release(); break;
            case Disposition::reject: d.reject(); break;
            case Disposition::modify: d.modify(); break;
            case Disposition::none: return;  // keep it unsettled, no more credit
        }
        d.receiver().add_credit(1);
    }

    void on_receiver_error(proton::receiver& r) override {
        std::lock_guard lock(mutex_);
        link_errors_.push_back(r.error().name() + ": " + r.error().description());
    }
    void on_sender_error(proton::sender& s) override {
        std::lock_guard lock(mutex_);
        link_errors_.push_back(s.error().name() + ": " + s.error().description());
    }
    void on_connection_error(proton::connection& c) override {
        record_error(c.error().name() + ": " + c.error().description());
    }
    void on_transport_error(proton::transport& t) override {
        record_error(t.error().name() + ": " + t.error().description());
    }
    void on_transport_close(proton::transport&) override { finished_ = true; }
    void on_error(const proton::error_condition& e) override { record_error(e.name() + ": " + e.description()); }

    void record_error(const std::string& what) {
        std::lock_guard lock(mutex_);
        if (error_.empty()) error_ = what;
    }

    ReceiverOptions options_;
    proton::container container_;
    std::thread thread_;
    proton::receiver receiver_;  // container thread only
    std::atomic<Disposition> disposition_{Disposition::accept};
    std::atomic<bool> opened_{false};
    std::atomic<bool> link_open_{false};
    std::atomic<bool> finished_{false};
    std::atomic<std::size_t> received_{0};
    std::atomic<std::uint32_t> server_idle_{0};
    mutable std::mutex mutex_;
    std::string error_;
    std::vector<std::string> link_errors_;
    std::vector<ReceivedMessage> messages_;
};

TestReceiver::TestReceiver(ReceiverOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
    impl_->disposition_ = impl_->options_.disposition;
}
TestReceiver::~TestReceiver() = default;
void TestReceiver::start() { impl_->start(); }
void TestReceiver::stop() { impl_->stop(); }
void TestReceiver::set_disposition(Disposition d) { impl_->disposition_ = d; }

bool TestReceiver::wait_for(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
}

bool TestReceiver::opened() const { return impl_->opened_; }
bool TestReceiver::link_open() const { return impl_->link_open_; }
bool TestReceiver::finished() const { return impl_->finished_; }
std::size_t TestReceiver::received() const { return impl_->received_; }
std::uint32_t TestReceiver::server_idle_timeout_ms() const { return impl_->server_idle_; }

std::string TestReceiver::error() const {
    std::lock_guard lock(impl_->mutex_);
    return impl_->error_;
}

std::vector<std::string> TestReceiver::link_errors() const {
    std::lock_guard lock(impl_->mutex_);
    return impl_->link_errors_;
}

std::vector<ReceivedMessage> TestReceiver::messages() const {
    std::lock_guard lock(impl_->mutex_);
    return impl_->messages_;
}

}  // namespace iot::emu
