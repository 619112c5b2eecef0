#include "emulator.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <proton/netaddr.h>
#include <proton/transport.h>
#include <sys/socket.h>
#include <proton/codec/map.hpp>
#include <proton/connection.hpp>
#include <proton/connection_options.hpp>
#include <proton/container.hpp>
#include <proton/delivery_mode.hpp>
#include <proton/error_condition.hpp>
#include <proton/listen_handler.hpp>
#include <proton/listener.hpp>
#include <proton/message.hpp>
#include <proton/messaging_handler.hpp>
#include <proton/sender.hpp>
#include <proton/sender_options.hpp>
#include <proton/source.hpp>
#include <proton/ssl.hpp>
#include <proton/tracker.hpp>
#include <proton/transport.hpp>
#include <proton/work_queue.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>

#include "iotda_authenticator.hpp"
#include "iotda_user_name.hpp"
#include "rate_limiter.hpp"
#include "sasl_plugin.hpp"
#include "wire_message.hpp"

namespace iot::emu {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kTick{50};
// Transfers made per handler call or job; see dispatch(). With 300-byte bodies
// 16 make about 7 KiB, half a TLS record. Measured with the daemon into
// /dev/null, credit 100: 16 and 32 gave 83-89 k msg/s where sending the whole
// credit at once gave 76-79 k.
constexpr std::size_t kSendChunk = 16;
constexpr milliseconds kControlTimeout{10000};
// How often the handshake deadline looks at the accepted sockets: its precision.
constexpr milliseconds kSocketScan{200};
constexpr milliseconds kAttemptWindow{60000};

std::int64_t wall_ms() {
    return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

proton::binary tag_of(std::uint64_t id) {
    proton::binary tag(8);
    for (std::size_t i = 0; i < 8; ++i) tag[i] = static_cast<std::uint8_t>(id >> (8 * i));
    return tag;
}

std::uint64_t id_of(const proton::binary& tag) {
    std::uint64_t id = 0;
    for (std::size_t i = 0; i < tag.size() && i < 8; ++i) id |= static_cast<std::uint64_t>(tag[i]) << (8 * i);
    return id;
}

// An address as a comparable key ("family/address bytes/port"), the same for
// proton's view of a transport and getpeername() of its socket.
std::string address_key(const sockaddr* addr) {
    std::string key;
    if (addr == nullptr) return key;
    const auto append = [&key](const void* bytes, std::size_t n) {
        key.append(static_cast<const char*>(bytes), n);
        key += '/';
    };
    if (addr->sa_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(addr);
        key = "4/";
        append(&in->sin_addr, sizeof in->sin_addr);
        append(&in->sin_port, sizeof in->sin_port);
    } else if (addr->sa_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(addr);
        key = "6/";
        append(&in6->sin6_addr, sizeof in6->sin6_addr);
        append(&in6->sin6_port, sizeof in6->sin6_port);
    }
    return key;
}

std::uint16_t port_of(const sockaddr* addr) {
    if (addr->sa_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(addr)->sin_port);
    if (addr->sa_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(addr)->sin6_port);
    return 0;
}

// "ip:port" of an address, for the event log.
std::string printable(const sockaddr* addr) {
    char host[INET6_ADDRSTRLEN] = "";
    const void* bytes = addr->sa_family == AF_INET
                            ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(addr)->sin_addr)
                            : &reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr;
    ::inet_ntop(addr->sa_family, bytes, host, sizeof host);
    return std::string(host) + ":" + std::to_string(port_of(addr));
}

struct AcceptedSocket {
    std::string peer;    // address_key()
    std::string remote;  // printable()
};

// This process's TCP sockets accepted on `port`, by descriptor.
std::map<int, AcceptedSocket> accepted_sockets(std::uint16_t port) {
    std::map<int, AcceptedSocket> out;
    DIR* dir = ::opendir("/proc/self/fd");
    if (dir == nullptr) return out;
    const int dir_fd = ::dirfd(dir);
    while (const dirent* entry = ::readdir(dir)) {
        char* end = nullptr;
        const long fd = std::strtol(entry->d_name, &end, 10);
        if (end == entry->d_name || *end != '\0' || fd == dir_fd) continue;
        sockaddr_storage local{}, peer{};
        socklen_t local_len = sizeof local, peer_len = sizeof peer;
        const int s = static_cast<int>(fd);
        if (::getsockname(s, reinterpret_cast<sockaddr*>(&local), &local_len) != 0) continue;  // not a socket
        if (port_of(reinterpret_cast<const sockaddr*>(&local)) != port) continue;
        if (::getpeername(s, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) continue;  // the listener
        const auto* addr = reinterpret_cast<const sockaddr*>(&peer);
        if (addr->sa_family != AF_INET && addr->sa_family != AF_INET6) continue;
        out.emplace(s, AcceptedSocket{address_key(addr), printable(addr)});
    }
    ::closedir(dir);
    return out;
}

std::string remote_of(pn_transport_t* transport) {
    char buf[128] = "";
    if (const pn_netaddr_t* addr = pn_transport_remote_addr(transport)) pn_netaddr_str(addr, buf, sizeof buf);
    return buf;
}

// "key=value", quoted when the value has spaces or quotes, for the event log.
std::string field(std::string_view key, std::string_view value) {
    std::string out(key);
    out += '=';
    if (value.find_first_of(" \"=") == std::string_view::npos && !value.empty()) {
        out += value;
    } else {
        append_json_string(out, value);
    }
    return out;
}

bool readable(const std::string& path) { return std::ifstream(path).good(); }

}  // namespace

class Emulator::Impl final : public proton::messaging_handler, public SaslServerHook {
public:
    explicit Impl(EmulatorOptions options)
        : options_(std::move(options)),
          log_(options_.log ? options_.log : std::make_shared<EventLog>()),
          auth_(options_.accounts, options_.auth),
          iotda_auth_(options_.accounts, options_.iotda.skew),
          container_(*this, "iot-amqpd-emulator"),
          work_queue_(container_) {
        if (!options_.accounts) throw std::invalid_argument("emulator needs accounts");
        for (const auto& name : options_.accounts->consumer_groups) {
            auto group = std::make_unique<GroupState>(options_.ack_timeout, options_.redelivery_delay);
            group->queue.set_backlog_rate(options_.backlog_rate, Clock::now());
            groups_.emplace(name, std::move(group));
            stats_.groups[name];
        }
        if (options_.accounts->iotda)
            for (const auto& queue : options_.accounts->iotda->queues) {
                const std::string key = iotda_queue_key(queue);
                auto group = std::make_unique<GroupState>(options_.iotda.ack_timeout, options_.redelivery_delay);
                group->queue.set_backlog_rate(options_.backlog_rate, Clock::now());
                groups_.emplace(key, std::move(group));
                stats_.groups[key];
            }
    }

    ~Impl() override { stop(); }

    std::uint16_t start() {
        if (!readable(options_.cert_file)) throw std::runtime_error("cannot read certificate " + options_.cert_file);
        if (!readable(options_.key_file)) throw std::runtime_error("cannot read key " + options_.key_file);
        install_sasl_plugin();
        thread_ = std::thread([this] {
            ScopedSaslServerHook hook(this);
            try {
                container_.run();
            } catch (const std::exception& e) {
                log_->write("container_failed", code::none, field("error", e.what()));
                std::lock_guard lock(start_mutex_);
                if (!start_error_ && port_ == 0) start_error_ = e.what();
            }
            std::lock_guard lock(start_mutex_);
            finished_ = true;
            start_cv_.notify_all();
        });
        std::unique_lock lock(start_mutex_);
        const bool settled =
            start_cv_.wait_for(lock, kControlTimeout, [&] { return port_ != 0 || start_error_ || finished_; });
        if (port_ == 0) {
            const std::string why = start_error_ ? *start_error_
                                    : settled    ? "container stopped"
                                                 : "listener did not open in time";
            lock.unlock();
            stop();
            throw std::runtime_error("emulator failed to start: " + why);
        }
        return port_;
    }

    void stop() {
        if (!thread_.joinable()) return;
        {
            std::lock_guard lock(stall_mutex_);
            stopping_ = true;
        }
        stall_cv_.notify_all();
        container_.stop();
        thread_.join();
        conns_.clear();  // the container has finished: drop our references on this thread
    }

    std::uint16_t port() const {
        std::lock_guard lock(start_mutex_);
        return port_;
    }

    PublishResult publish(PublishSpec spec) {
        if (spec.id_prefix.empty() && spec.props != PropsMode::long_id)
            spec.id_prefix = "p" + std::to_string(++publish_seq_) + "-";
        if (spec.iotda && spec.iotda->base_time_ms == 0) spec.iotda->base_time_ms = wall_ms();
        if (auto problem = validate(spec); !problem.empty()) throw std::invalid_argument(problem);
        if (!known_group(spec.group))
            throw std::invalid_argument(spec.iotda ? "unknown queue " + std::string(iotda_queue_of_key(spec.group))
                                                   : "unknown consumer group " + spec.group);
        auto publication = std::make_shared<const Publication>(spec);
        PublishResult result;
        result.group = spec.group;
        result.id_prefix = spec.id_prefix;
        result.count = spec.count;
        result.dup = spec.dup;
        result.first_id = publication->message_id(1);
        result.last_id = publication->message_id(spec.count);
        auto premade = std::make_shared<std::vector<std::shared_ptr<const EmuMessage>>>();
        if (spec.premade) {  // made and encoded on the caller's thread; the container only sends
            const std::int64_t now = wall_ms();
            premade->reserve(publication->total());
            for (std::size_t i = 0; i < publication->total(); ++i) {
                EmuMessage made = *publication->make(i, now);
                made.encoded = encode_message(made);
                premade->push_back(std::make_shared<const EmuMessage>(std::move(made)));
            }
        }
        result.released_ns = on_container([this, publication, premade] {
            const auto& group_name = publication->spec().group;
            GroupState& group = *groups_.at(group_name);
            if (!premade->empty()) {
                for (auto& message : *premade) group.queue.publish(std::move(message));
                premade->clear();
            } else if (publication->spec().rate <= 0) {
                group.queue.publish(publication, 0, publication->total());
            } else {
                group.rated.push_back({publication, Clock::now(), 0});
                release_rated(group);
            }
            log_->write("publish", code::none,
                        field("group", group_name) + " " + field("count", std::to_string(publication->total())) + " " +
                            field("id_prefix", publication->spec().id_prefix));
            const std::int64_t released =
                std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
            dispatch(group_name, group);
            return released;
        });
        return result;
    }

    std::size_t drop_connections(const std::string& group) {
        return on_container([this, group] {
            std::size_t n = 0;
            for (auto& [key, state] : conns_) {
                if (!serves(*state, group)) continue;
                if (!state->connection) continue;  // not open yet: nothing to drop
                state->closing = true;
                // Runs in the connection's own context, so proton notices the
                // closed transport at once and drops the socket without a close frame.
                state->connection.work_queue().add([this, key = key] {
                    const auto it = conns_.find(key);
                    if (it == conns_.end()) return;
                    pn_transport_close_tail(it->second->transport);
                    pn_transport_close_head(it->second->transport);
                });
                count_code(state->group, code::server_closed);
                log_->write("dropped", code::server_closed, describe(*state));
                ++n;
            }
            return n;
        });
    }

    std::size_t close_connections(const std::string& group, const std::string& condition,
                                  const std::string& description) {
        return on_container([this, group, condition, description] {
            std::size_t n = 0;
            for (auto& [key, state] : conns_) {
                if (!serves(*state, group)) continue;
                if (state->closing || !state->connection) continue;
                state->closing = true;
                state->connection.close(proton::error_condition(condition, description));
                wake(*state);
                count_code(state->group, code::server_closed);
                log_->write("closed_by_server", code::server_closed,
                            describe(*state) + " " + field("condition", condition));
                ++n;
            }
            return n;
        });
    }

    void refuse_auth(milliseconds duration) {
        refuse_until_ = std::chrono::duration_cast<milliseconds>((Clock::now() + duration).time_since_epoch()).count();
        log_->write("refuse_auth", code::none, field("ms", std::to_string(duration.count())));
    }

    void stall(milliseconds duration) {
        const bool added = work_queue_.add([this, duration] {
            log_->write("stall_begin", code::none, field("ms", std::to_string(duration.count())));
            std::unique_lock lock(stall_mutex_);
            stalled_ = true;
            stall_until_ = Clock::now() + duration;
            stall_cv_.notify_all();
            stall_cv_.wait_until(lock, stall_until_, [this] { return stopping_.load(); });
            stalled_ = false;
            lock.unlock();
            log_->write("stall_end", code::none, "");
        });
        if (!added) throw std::runtime_error("emulator is not running");
        std::unique_lock lock(stall_mutex_);
        stall_cv_.wait_for(lock, kControlTimeout, [this] { return stalled_ || stopping_.load(); });
    }

    std::size_t stall_pushes(const std::string& group, const std::string& client_id, milliseconds duration) {
        if (group.empty() == client_id.empty())
            throw std::invalid_argument("stall: name either a group or a client, not both");
        if (!group.empty() && !known_group(group))
            throw std::invalid_argument(is_iotda_queue_key(group)
                                            ? "unknown queue " + std::string(iotda_queue_of_key(group))
                                            : "unknown consumer group " + group);
        return on_container([this, group, client_id, duration] {
            const auto until = Clock::now() + duration;
            (group.empty() ? client_stalls_[client_id] : group_stalls_[group]) = until;
            push_stalls_ = true;
            std::size_t n = 0;
            for (const auto& [key, state] : conns_)
                if (state->admitted && (group.empty() ? state->client_id == client_id : serves(*state, group))) ++n;
            log_->write("stall_pushes", code::none,
                        (group.empty() ? field("client", client_id) : field("group", group)) + " " +
                            field("ms", std::to_string(duration.count())) + " " +
                            field("connections", std::to_string(n)));
            return n;
        });
    }

    // IoTDA queues live among the groups under iotda_queue_key(): reported apart.
    StatsSnapshot stats() const {
        StatsSnapshot out;
        {
            std::lock_guard lock(stats_mutex_);
            out = stats_;
        }
        for (auto it = out.groups.begin(); it != out.groups.end();) {
            if (!is_iotda_queue_key(it->first)) {
                ++it;
                continue;
            }
            out.queues[std::string(iotda_queue_of_key(it->first))] = std::move(it->second);
            it = out.groups.erase(it);
        }
        return out;
    }

    std::vector<ClientInfo> clients() const {
        std::lock_guard lock(stats_mutex_);
        std::vector<ClientInfo> out;
        for (const auto& [id, info] : clients_) out.push_back(info);
        return out;
    }

private:
    struct RatedPublication {
        std::shared_ptr<const Publication> publication;
        Clock::time_point started;
        std::size_t released = 0;
    };

    struct GroupState {
        GroupState(milliseconds ack_timeout, milliseconds redelivery_delay) : queue(ack_timeout, redelivery_delay) {}
        GroupQueue queue;
        std::deque<Clock::time_point> attempts;  // SASL attempts in the last minute
        std::size_t connections = 0;
        std::vector<RatedPublication> rated;
        bool more_to_send = false;  // a dispatch job for the rest of a backlog is queued
    };

    struct ConnState;

    // The queue's view of one receiver link: its credit, less what the push
    // throttle and a push stall allow now. Container thread.
    class SenderPort final : public ConsumerPort {
    public:
        SenderPort(Impl& impl, ConnState& state, proton::sender sender, std::string group)
            : impl_(impl),
              state_(state),
              sender_(std::move(sender)),
              group_(std::move(group)),
              limit_(impl.options_.push_rate, Clock::now()) {}
        int credit() const override {
            if (state_.closing) return 0;
            const int link = sender_.credit();
            if (link <= 0 || (!limit_.limited() && !impl_.push_stalls_)) return link;  // the fast path
            const auto now = Clock::now();
            if (impl_.pushes_stalled(group_, state_.client_id, now)) return 0;
            const std::size_t allowed = limit_.available(now);
            return allowed < static_cast<std::size_t>(link) ? static_cast<int>(allowed) : link;
        }
        void send(std::uint64_t delivery_id, const EmuMessage& message) override {
            if (limit_.limited()) limit_.take(Clock::now());
            if (message.encoded.empty()) {
                sender_.send(impl_.encode(message), tag_of(delivery_id));
            } else {
                send_encoded(sender_, message.encoded, tag_of(delivery_id));
            }
            if (!state_.written) {
                state_.written = true;
                impl_.written_.push_back(&state_);
            }
        }

    private:
        Impl& impl_;
        ConnState& state_;
        proton::sender sender_;
        std::string group_;  // the consumer group or iotda_queue_key() it reads
        RateLimiter limit_;  // the cloud's real-time push throttle for this connection
    };

    // proton-cpp offers no public way from a C transport (all SASL sees) to its
    // C++ connection, so the SASL step names the authenticated user
    // "<clientId>#<key>" and handlers read the key back from connection::user().
    using ConnKey = std::uint64_t;
    static ConnKey key_of(const proton::connection& c) {
        const std::string user = c.user();
        const auto hash = user.rfind('#');
        if (hash == std::string::npos || hash + 1 >= user.size()) return 0;
        ConnKey key = 0;
        for (std::size_t i = hash + 1; i < user.size(); ++i) {
            if (user[i] < '0' || user[i] > '9') return 0;
            key = key * 10 + static_cast<ConnKey>(user[i] - '0');
        }
        return key;
    }

    struct ConnState {
        std::uint64_t id = 0;
        ConnKey key = 0;
        proton::connection connection;        // set at Open
        pn_transport_t* transport = nullptr;  // valid until on_transport_close
        std::string client_id;
        std::string group;
        std::string remote;
        std::string peer;     // address_key() of the remote address
        std::string refusal;  // set at SASL time: refuse at Open (9600)
        bool admitted = false;
        bool closing = false;
        bool written = false;  // frames queued since the last flush check
        Clock::time_point link_deadline;
        std::optional<proton::sender> sender;
        std::unique_ptr<SenderPort> port;
        // IoTDA: `group` stays empty, client_id is the access key, and each
        // receiver link reads its own queue.
        bool iotda = false;
        struct IotdaLink {
            std::string queue_key;  // iotda_queue_key()
            proton::sender sender;
            std::unique_ptr<SenderPort> port;
            std::uint64_t consumer = 0;  // the GroupQueue's consumer id, unique per link
        };
        std::vector<std::unique_ptr<IotdaLink>> links;
    };

    // ---- container thread: proton callbacks --------------------------------

    class Listener final : public proton::listen_handler {
    public:
        explicit Listener(Impl& impl) : impl_(impl) {}
        proton::connection_options on_accept(proton::listener&) override {
            proton::connection_options opts;
            opts.ssl_server_options(*impl_.ssl_options_)
                .sasl_enabled(true)
                .sasl_allowed_mechs("PLAIN")
                // Between authentication and the Open this closes a silent client
                // (the cloud's 15 s deadline); after the Open the client's own value
                // applies. proton does not tick during TLS and SASL: the handshake
                // deadline (tick()) covers those.
                .idle_timeout(proton::duration(impl_.options_.sasl_deadline.count()));
            return opts;
        }
        void on_open(proton::listener& l) override {
            std::lock_guard lock(impl_.start_mutex_);
            impl_.port_ = static_cast<std::uint16_t>(l.port());
            impl_.start_cv_.notify_all();
        }
        void on_error(proton::listener&, const std::string& what) override {
            std::lock_guard lock(impl_.start_mutex_);
            impl_.start_error_ = what;
            impl_.start_cv_.notify_all();
        }

    private:
        Impl& impl_;
    };

    void on_container_start(proton::container& c) override {
        try {
            ssl_options_.emplace(proton::ssl_certificate(options_.cert_file, options_.key_file));
        } catch (const std::exception& e) {
            std::lock_guard lock(start_mutex_);
            start_error_ = std::string("TLS setup: ") + e.what();
            start_cv_.notify_all();
            c.stop();
            return;
        }
        listener_ = c.listen(options_.listen, listen_handler_);
        c.schedule(proton::duration(kTick.count()), [this] { tick(); });
    }

    bool authenticate(pn_transport_t* transport, std::string_view user_name, std::string_view password,
                      std::string& reported_user) override {
        if (is_iotda_user_name(user_name)) return authenticate_iotda(transport, user_name, password, reported_user);
        const std::int64_t now_wall = wall_ms();
        const auto now = Clock::now();
        AuthOutcome outcome = auth_.check(user_name, password, now_wall);
        const std::int64_t now_steady = std::chrono::duration_cast<milliseconds>(now.time_since_epoch()).count();
        if (outcome.ok && now_steady < refuse_until_.load()) {
            outcome.ok = false;
            outcome.reason = "authentication refused for a while (refuse_auth)";
        }
        const auto group_it = groups_.find(outcome.group);
        std::string refusal;
        if (group_it != groups_.end()) {
            auto& attempts = group_it->second->attempts;
            while (!attempts.empty() && attempts.front() <= now - kAttemptWindow) attempts.pop_front();
            attempts.push_back(now);
            if (attempts.size() > options_.max_attempts_per_minute)
                refusal = "too many connection attempts for this consumer group (" +
                          std::to_string(options_.max_attempts_per_minute) + "/min)";
        }
        {
            std::lock_guard lock(stats_mutex_);
            if (outcome.group.empty()) {
                if (!outcome.ok) ++stats_.auth_failures_unparsed;
            } else {
                GroupStats& g = stats_.groups[outcome.group];
                ++(outcome.ok ? g.auth_ok : g.auth_failures);
                if (!outcome.client_id.empty()) {
                    ClientStats& client = g.clients[outcome.client_id];
                    ++client.attempts;
                    if (outcome.signature_valid) client.last_timestamp = auth_.last_timestamps().at(outcome.client_id);
                    if (outcome.stale) {
                        ++client.stale_timestamps;
                        ++g.stale_timestamps;
                    }
                }
            }
        }
        const std::string remote = remote_of(transport);
        std::string fields = field("group", outcome.group) + " " + field("client", outcome.client_id) + " " +
                             field("remote", remote) + " " + field("timestamp", std::to_string(outcome.timestamp_ms));
        if (outcome.stale) fields += " stale=true";
        if (!outcome.ok) {
            log_->write("auth_failed", code::none, fields + " " + field("reason", outcome.reason));
            return false;
        }
        pn_connection_t* pn_conn = pn_transport_connection(transport);
        if (pn_conn == nullptr) return false;
        log_->write("auth_ok", code::none, fields);
        auto state = std::make_unique<ConnState>();
        state->id = ++next_conn_id_;
        state->key = state->id;
        state->transport = transport;
        state->client_id = outcome.client_id;
        state->group = outcome.group;
        state->remote = remote;
        if (const pn_netaddr_t* addr = pn_transport_remote_addr(transport))
            state->peer = address_key(pn_netaddr_sockaddr(addr));
        state->refusal = std::move(refusal);
        reported_user = outcome.client_id + "#" + std::to_string(state->key);
        conns_[state->key] = std::move(state);
        return true;
    }

    void on_connection_open(proton::connection& c) override {
        const auto it = conns_.find(key_of(c));
        if (it == conns_.end()) {
            // AMQP without SASL: proton's server lets it through unless told otherwise.
            {
                std::lock_guard lock(stats_mutex_);
                ++stats_.unauthenticated_opens;
            }
            log_->write("refused_unauthenticated", code::none, "");
            c.close(proton::error_condition("amqp:unauthorized-access", "SASL PLAIN authentication is required"));
            return;
        }
        ConnState& state = *it->second;
        state.connection = c;
        if (state.iotda) {
            open_iotda(c, state);
            return;
        }
        GroupState& group = *groups_.at(state.group);
        const std::uint32_t idle = c.idle_timeout();
        if (idle == 0 || idle < options_.min_idle_timeout_ms || idle > options_.max_idle_timeout_ms) {
            count_code(state.group, code::bad_heartbeat);
            log_->write("bad_heartbeat", code::bad_heartbeat,
                        describe(state) + " " + field("idle_timeout_ms", std::to_string(idle)));
            state.closing = true;
            c.close(proton::error_condition("amqp:invalid-field",
                                            "idle-time-out " + std::to_string(idle) + " ms is outside " +
                                                std::to_string(options_.min_idle_timeout_ms) + ".." +
                                                std::to_string(options_.max_idle_timeout_ms) + " ms (9601)"));
            return;
        }
        std::string refusal = state.refusal;
        if (refusal.empty() && group.connections >= options_.max_clients_per_group)
            refusal =
                "too many clients in this consumer group (" + std::to_string(options_.max_clients_per_group) + ")";
        if (!refusal.empty()) {
            count_code(state.group, code::too_many_connections);
            {
                std::lock_guard lock(stats_mutex_);
                ++stats_.groups[state.group].refused_attempts;
            }
            log_->write("refused", code::too_many_connections, describe(state) + " " + field("reason", refusal));
            state.closing = true;
            c.close(proton::error_condition("amqp:resource-limit-exceeded", refusal + " (9600)"));
            return;
        }
        // The client's value becomes our deadline for its silence; proton
        // advertises half of it back, so the client sends keep-alives in time.
        pn_transport_set_idle_timeout(state.transport, idle);
        c.open();
        state.admitted = true;
        state.link_deadline = Clock::now() + options_.link_deadline;
        ++group.connections;
        {
            std::lock_guard lock(stats_mutex_);
            GroupStats& g = stats_.groups[state.group];
            ++g.connections;
            ++g.connections_total;
            ++g.clients[state.client_id].connections_total;
            clients_[state.id] = ClientInfo{state.id, state.group, state.client_id, state.remote, wall_ms(), false};
        }
        log_->write("connected", code::none, describe(state) + " " + field("idle_timeout_ms", std::to_string(idle)));
    }

    void on_sender_open(proton::sender& s) override {
        InContext in(*this, key_of(s.connection()));
        ConnState* state = find(s.connection());
        if (state == nullptr || !state->admitted || state->closing) {
            s.close(proton::error_condition("amqp:unauthorized-access", "connection not admitted"));
            return;
        }
        if (state->iotda) {
            attach_iotda(s, *state);
            return;
        }
        if (state->sender) {
            log_->write("link_refused", code::none, describe(*state) + " reason=second_receiver");
            s.close(proton::error_condition("amqp:not-allowed", "only one receiver link per connection"));
            return;
        }
        // The source address is ignored, as in the cloud.
        s.open(proton::sender_options().delivery_mode(proton::delivery_mode::AT_LEAST_ONCE).auto_settle(false));
        state->sender = s;
        state->port = std::make_unique<SenderPort>(*this, *state, s, state->group);
        GroupState& group = *groups_.at(state->group);
        group.queue.add_consumer(state->id, state->port.get());
        {
            std::lock_guard lock(stats_mutex_);
            ++stats_.groups[state->group].links;
            clients_[state->id].link = true;
        }
        log_->write("link_attached", code::none, describe(*state));
        dispatch(state->group, group);
    }

    void on_receiver_open(proton::receiver& r) override {
        ConnState* state = find(r.connection());
        log_->write("link_refused", code::none,
                    (state ? describe(*state) + " " : std::string()) + "reason=sender_link");
        r.close(proton::error_condition("amqp:not-allowed", "sender links are not supported: the service only pushes"));
    }

    void on_sendable(proton::sender& s) override {
        InContext in(*this, key_of(s.connection()));
        ConnState* state = find(s.connection());
        if (state != nullptr && state->iotda) {
            if (const auto* link = find_link(*state, s)) dispatch(link->queue_key, *groups_.at(link->queue_key));
            return;
        }
        if (state == nullptr || !state->sender || *state->sender != s) return;
        {
            std::lock_guard lock(stats_mutex_);
            std::uint64_t& most = stats_.groups[state->group].max_link_credit;
            most = std::max(most, static_cast<std::uint64_t>(std::max(s.credit(), 0)));
        }
        dispatch(state->group, *groups_.at(state->group));
    }

    void on_sender_close(proton::sender& s) override {
        InContext in(*this, key_of(s.connection()));
        ConnState* state = find(s.connection());
        if (state != nullptr && state->iotda) {
            detach_iotda_link(*state, s);
            return;
        }
        if (state == nullptr || !state->sender || *state->sender != s) return;
        detach_consumer(*state);
        log_->write("link_detached", code::none, describe(*state));
    }

    void on_tracker_accept(proton::tracker& t) override { settle(t, Outcome::accepted); }
    void on_tracker_reject(proton::tracker& t) override { settle(t, Outcome::rejected); }
    void on_tracker_release(proton::tracker& t) override {
        settle(t, t.state() == proton::transfer::MODIFIED ? Outcome::modified : Outcome::released);
    }

    // The client's Close. With its link still attached, what it settled just
    // before may not count on a broker like RabbitMQ: counted, for tests.
    void on_connection_close(proton::connection& c) override {
        ConnState* state = find(c);
        if (state == nullptr || !state->admitted || !state->sender || state->iotda) return;
        {
            std::lock_guard lock(stats_mutex_);
            ++stats_.groups[state->group].closes_with_link_attached;
        }
        log_->write("closed_with_link_attached", code::none, describe(*state));
    }

    void on_connection_error(proton::connection& c) override {
        ConnState* state = find(c);
        log_->write("client_closed_with_error", code::none,
                    (state ? describe(*state) + " " : std::string()) + field("condition", c.error().what()));
    }

    void on_transport_error(proton::transport& t) override {
        ConnState* state = find_by_transport(t);
        log_->write("transport_error", code::none,
                    (state ? describe(*state) + " " : std::string()) + field("condition", t.error().what()));
    }

    void on_transport_close(proton::transport& t) override {
        ConnState* state = find_by_transport(t);
        if (state == nullptr) return;
        InContext in(*this, state->key);
        state->closing = true;
        detach_consumer(*state);
        if (state->admitted && state->iotda) {
            --iotda_connections_[state->client_id];
            std::lock_guard lock(stats_mutex_);
            --stats_.access_keys[state->client_id].connections;
            clients_.erase(state->id);
        } else if (state->admitted) {
            GroupState& group = *groups_.at(state->group);
            --group.connections;
            std::lock_guard lock(stats_mutex_);
            --stats_.groups[state->group].connections;
            clients_.erase(state->id);
        }
        std::string why;
        if (state->connection && state->connection.error())
            why = " " + field("client_condition", state->connection.error().what());
        if (t.error()) why += " " + field("transport_condition", t.error().what());
        log_->write("disconnected", code::none, describe(*state) + why);
        conns_.erase(state->key);
    }

    // The default handlers throw, which would stop the container.
    void on_error(const proton::error_condition& e) override {
        log_->write("error", code::none, field("condition", e.what()));
    }
    void on_session_error(proton::session&) override {}
    void on_sender_error(proton::sender&) override {}
    void on_receiver_error(proton::receiver&) override {}

    // ---- container thread: the IoTDA dialect ----------------------------------

    bool authenticate_iotda(pn_transport_t* transport, std::string_view user_name, std::string_view password,
                            std::string& reported_user) {
        IotdaAuthOutcome outcome = iotda_auth_.check(user_name, password, wall_ms());
        const std::int64_t now_steady =
            std::chrono::duration_cast<milliseconds>(Clock::now().time_since_epoch()).count();
        if (outcome.ok && now_steady < refuse_until_.load()) {
            outcome.ok = false;
            outcome.reason = "authentication refused for a while (refuse_auth)";
        }
        bool reused = false;
        {
            std::lock_guard lock(stats_mutex_);
            if (outcome.access_key.empty()) {
                ++stats_.iotda_auth_failures_unparsed;
            } else {
                AccessKeyStats& k = stats_.access_keys[outcome.access_key];
                ++k.attempts;
                ++(outcome.ok ? k.auth_ok : k.auth_failures);
                if (k.user_names.size() >= AccessKeyStats::kMaxUserNames) k.user_names.erase(k.user_names.begin());
                k.user_names.emplace_back(user_name);
                if (outcome.timestamp_ms != 0) {
                    reused = outcome.timestamp_ms <= k.last_timestamp;
                    if (reused) ++k.reused_timestamps;
                    k.last_timestamp = std::max(k.last_timestamp, outcome.timestamp_ms);
                }
            }
        }
        const std::string remote = remote_of(transport);
        std::string fields = field("access_key", outcome.access_key) + " " + field("remote", remote) + " " +
                             field("timestamp", std::to_string(outcome.timestamp_ms));
        if (reused) fields += " reused_timestamp=true";
        if (!outcome.ok) {
            log_->write("auth_failed", code::none, fields + " " + field("reason", outcome.reason));
            return false;
        }
        if (pn_transport_connection(transport) == nullptr) return false;
        log_->write("auth_ok", code::none, fields);
        auto state = std::make_unique<ConnState>();
        state->id = ++next_conn_id_;
        state->key = state->id;
        state->transport = transport;
        state->iotda = true;
        state->client_id = outcome.access_key;
        state->remote = remote;
        if (const pn_netaddr_t* addr = pn_transport_remote_addr(transport))
            state->peer = address_key(pn_netaddr_sockaddr(addr));
        reported_user = outcome.access_key + "#" + std::to_string(state->key);
        conns_[state->key] = std::move(state);
        return true;
    }

    void refuse_iotda(proton::connection& c, ConnState& state, const char* event, const std::string& condition,
                      const std::string& why) {
        {
            std::lock_guard lock(stats_mutex_);
            ++stats_.access_keys[state.client_id].refused_attempts;
        }
        log_->write(event, code::none, describe(state) + " " + field("reason", why));
        state.closing = true;
        c.close(proton::error_condition(condition, why));
    }

    // The checks the cloud makes at the Open, in this order: vhost, heartbeat,
    // the access key's connection cap.
    void open_iotda(proton::connection& c, ConnState& state) {
        const std::string vhost = c.virtual_host();
        if (vhost != "default") {
            refuse_iotda(c, state, "bad_vhost", "amqp:not-found",
                         "virtual host '" + vhost + "' does not exist: only 'default' is supported");
            return;
        }
        const auto& limits = options_.iotda;
        const std::uint32_t idle = c.idle_timeout();
        if (idle == 0 || idle < limits.min_idle_timeout_ms || idle > limits.max_idle_timeout_ms) {
            refuse_iotda(c, state, "bad_heartbeat", "amqp:invalid-field",
                         "idle-time-out " + std::to_string(idle) + " ms is outside " +
                             std::to_string(limits.min_idle_timeout_ms) + ".." +
                             std::to_string(limits.max_idle_timeout_ms) + " ms");
            return;
        }
        std::size_t& open = iotda_connections_[state.client_id];
        if (open >= limits.max_connections_per_key) {
            refuse_iotda(
                c, state, "refused", "amqp:resource-limit-exceeded",
                "too many connections for this accessKey (" + std::to_string(limits.max_connections_per_key) + ")");
            return;
        }
        pn_transport_set_idle_timeout(state.transport, idle);
        c.open();
        state.admitted = true;
        state.link_deadline = Clock::now() + options_.link_deadline;
        ++open;
        {
            std::lock_guard lock(stats_mutex_);
            AccessKeyStats& k = stats_.access_keys[state.client_id];
            ++k.connections;
            ++k.connections_total;
            clients_[state.id] = ClientInfo{state.id, "", state.client_id, state.remote, wall_ms(), false};
        }
        log_->write("connected", code::none, describe(state) + " " + field("idle_timeout_ms", std::to_string(idle)));
    }

    void attach_iotda(proton::sender& s, ConnState& state) {
        const std::string queue = s.source().address();
        if (state.links.size() >= options_.iotda.max_links_per_connection) {
            log_->write("link_refused", code::none, describe(state) + " reason=too_many_links");
            s.close(proton::error_condition("amqp:resource-limit-exceeded",
                                            "at most " + std::to_string(options_.iotda.max_links_per_connection) +
                                                " receiver links per connection"));
            return;
        }
        const std::string key = iotda_queue_key(queue);
        const auto it = groups_.find(key);
        if (queue.empty() || it == groups_.end()) {
            log_->write("link_refused", code::none, describe(state) + " " + field("queue", queue) + " reason=no_queue");
            s.close(proton::error_condition("amqp:not-found", "queue '" + queue + "' does not exist"));
            return;
        }
        s.open(proton::sender_options().delivery_mode(proton::delivery_mode::AT_LEAST_ONCE).auto_settle(false));
        auto link = std::make_unique<ConnState::IotdaLink>();
        link->queue_key = key;
        link->sender = s;
        link->port = std::make_unique<SenderPort>(*this, state, s, key);
        link->consumer = ++next_conn_id_;
        it->second->queue.add_consumer(link->consumer, link->port.get());
        state.links.push_back(std::move(link));
        {
            std::lock_guard lock(stats_mutex_);
            GroupStats& q = stats_.groups[key];
            ++q.links;
            ++q.connections;
            ++q.connections_total;
            clients_[state.id].link = true;
        }
        log_->write("link_attached", code::none, describe(state) + " " + field("queue", queue));
        dispatch(key, *it->second);
    }

    static ConnState::IotdaLink* find_link(ConnState& state, const proton::sender& s) {
        for (auto& link : state.links)
            if (link->sender == s) return link.get();
        return nullptr;
    }

    void detach_iotda_link(ConnState& state, const proton::sender& s) {
        const auto it =
            std::find_if(state.links.begin(), state.links.end(), [&s](const auto& link) { return link->sender == s; });
        if (it == state.links.end()) return;
        const std::string key = (*it)->queue_key;
        GroupState& group = *groups_.at(key);
        const std::size_t requeued = group.queue.remove_consumer((*it)->consumer, Clock::now());
        state.links.erase(it);
        {
            std::lock_guard lock(stats_mutex_);
            GroupStats& q = stats_.groups[key];
            --q.links;
            --q.connections;
            if (const auto c = clients_.find(state.id); c != clients_.end()) c->second.link = !state.links.empty();
        }
        const std::string queue(iotda_queue_of_key(key));
        if (requeued > 0)
            log_->write("requeued_on_loss", code::none,
                        describe(state) + " " + field("queue", queue) + " " + field("count", std::to_string(requeued)));
        log_->write("link_detached", code::none, describe(state) + " " + field("queue", queue));
        dispatch(key, group);
    }

    // Whether `group` (a consumer group or iotda_queue_key(); "" = any) concerns the connection.
    static bool serves(const ConnState& state, const std::string& group) {
        if (group.empty() || state.group == group) return true;
        for (const auto& link : state.links)
            if (link->queue_key == group) return true;
        return false;
    }

    // The set of groups is fixed at construction: any thread may look.
    bool known_group(const std::string& group) const { return groups_.count(group) != 0; }

    // ---- container thread: helpers -------------------------------------------

    // Closes sockets that have not authenticated within the handshake deadline.
    // proton offers no hook before SASL (its handlers start at the Open) and no
    // timer during TLS and SASL, so this looks at the sockets themselves: every
    // socket accepted on our port whose peer is not an authenticated connection.
    // shutdown(), not close(): proton still owns the descriptor, reads the end
    // of stream and closes it as any lost client. Safe from descriptor reuse:
    // proton accepts and closes only on this thread.
    void expire_handshakes(Clock::time_point now) {
        if (options_.handshake_deadline.count() <= 0 || now < next_socket_scan_) return;
        next_socket_scan_ = now + kSocketScan;
        std::set<std::string> authenticated;
        for (const auto& [key, state] : conns_) authenticated.insert(state->peer);
        std::map<std::pair<int, std::string>, Handshake> still;
        for (const auto& [fd, socket] : accepted_sockets(port())) {
            if (authenticated.count(socket.peer) != 0) continue;
            const auto id = std::make_pair(fd, socket.peer);
            const auto known = handshakes_.find(id);
            Handshake h = known != handshakes_.end() ? known->second : Handshake{now, false};
            if (!h.shut && now - h.accepted >= options_.handshake_deadline) {
                h.shut = true;
                log_->write("handshake_deadline", code::none,
                            field("remote", socket.remote) + " " +
                                field("ms", std::to_string(options_.handshake_deadline.count())));
                ::shutdown(fd, SHUT_RDWR);
            }
            still.emplace(id, h);
        }
        handshakes_ = std::move(still);
    }

    bool pushes_stalled(const std::string& group_name, const std::string& client_id, Clock::time_point now) const {
        const auto group = group_stalls_.find(group_name);
        if (group != group_stalls_.end() && now < group->second) return true;
        const auto client = client_stalls_.find(client_id);
        return client != client_stalls_.end() && now < client->second;
    }

    void end_push_stalls(Clock::time_point now) {
        for (auto* stalls : {&group_stalls_, &client_stalls_})
            for (auto it = stalls->begin(); it != stalls->end();)
                it = now < it->second ? std::next(it) : stalls->erase(it);
        push_stalls_ = !group_stalls_.empty() || !client_stalls_.empty();
    }

    ConnState* find(const proton::connection& c) {
        if (!c) return nullptr;
        const auto it = conns_.find(key_of(c));
        return it == conns_.end() ? nullptr : it->second.get();
    }

    // A server transport stays bound to its connection until after this event.
    ConnState* find_by_transport(proton::transport& t) { return find(t.connection()); }

    std::string describe(const ConnState& s) const {
        if (s.iotda) return field("access_key", s.client_id) + " " + field("remote", s.remote);
        return field("group", s.group) + " " + field("client", s.client_id) + " " + field("remote", s.remote);
    }

    void count_code(const std::string& group, int log_code) {
        if (group.empty()) return;  // an IoTDA connection: its codes count per queue, not here
        std::lock_guard lock(stats_mutex_);
        ++stats_.groups[group].codes[log_code];
    }

    void detach_consumer(ConnState& state) {
        while (!state.links.empty()) detach_iotda_link(state, state.links.back()->sender);
        if (!state.port) return;
        GroupState& group = *groups_.at(state.group);
        const std::size_t requeued = group.queue.remove_consumer(state.id, Clock::now());
        state.port.reset();
        state.sender.reset();
        {
            std::lock_guard lock(stats_mutex_);
            --stats_.groups[state.group].links;
            if (const auto it = clients_.find(state.id); it != clients_.end()) it->second.link = false;
        }
        if (requeued > 0)
            log_->write("requeued_on_loss", code::none,
                        describe(state) + " " + field("count", std::to_string(requeued)));
        dispatch(state.group, group);
    }

    void settle(proton::tracker& t, Outcome outcome) {
        InContext in(*this, key_of(t.connection()));
        ConnState* state = find(t.connection());
        const std::uint64_t id = id_of(t.tag());
        t.settle();
        if (state == nullptr) return;
        std::string name = state->group;
        if (state->iotda) {
            const auto* link = find_link(*state, t.sender());
            if (link == nullptr) return;  // detached: its unsettled deliveries were requeued
            name = link->queue_key;
        }
        GroupState& group = *groups_.at(name);
        const SettleInfo info = group.queue.settle(id, outcome, Clock::now());
        if (outcome == Outcome::released) {
            count_code(name, code::released);
            log_->write("released", code::released, describe(*state) + " " + field("messageId", info.message_id));
        } else if (outcome != Outcome::accepted) {
            count_code(name, code::nack);
            log_->write(outcome == Outcome::rejected ? "rejected" : "modified", code::nack,
                        describe(*state) + " " + field("messageId", info.message_id));
        } else if (info.late) {
            log_->write("late_accept", code::none, describe(*state) + " " + field("messageId", info.message_id));
        }
        if (outcome == Outcome::accepted) {
            sync_stats(name, group);
        } else {
            dispatch(name, group);
        }
    }

    // A backlog goes out kSendChunk transfers at a time, the rest from a job
    // queued behind the flush: proton writes a connection's frames only after
    // the handler returns, so sending the whole credit in one call would hold
    // every transfer back until the last one is made and leave the client
    // idle meanwhile; a server streams what it sends.
    void dispatch(const std::string& name, GroupState& group) {
        const std::size_t sent = group.queue.dispatch(Clock::now(), wall_ms(), kSendChunk);
        flush_written();
        sync_stats(name, group);
        if (sent < kSendChunk || group.more_to_send) return;
        group.more_to_send = work_queue_.add([this, name, &group] {
            group.more_to_send = false;
            dispatch(name, group);
        });
    }

    // proton writes a connection's frames only while processing that connection:
    // one written to from a job, a timer or another connection's event must be
    // woken, or its transfers sit in the buffer until its next network event.
    void flush_written() {
        for (ConnState* state : written_) {
            state->written = false;
            if (state->key != current_key_ && state->connection) state->connection.wake();
        }
        written_.clear();
    }

    void wake(ConnState& state) {
        if (state.key != current_key_ && state.connection) state.connection.wake();
    }

    // Marks which connection's event is being handled, for flush_written().
    class InContext {
    public:
        InContext(Impl& impl, ConnKey key) : impl_(impl), previous_(impl.current_key_) { impl.current_key_ = key; }
        ~InContext() { impl_.current_key_ = previous_; }
        InContext(const InContext&) = delete;
        InContext& operator=(const InContext&) = delete;

    private:
        Impl& impl_;
        ConnKey previous_;
    };

    void sync_stats(const std::string& name, const GroupState& group) {
        std::lock_guard lock(stats_mutex_);
        stats_.groups[name].queue = group.queue.counters();
    }

    void release_rated(GroupState& group) {
        const auto now = Clock::now();
        for (auto& rated : group.rated) {
            const double elapsed = std::chrono::duration<double>(now - rated.started).count();
            const auto& pub = *rated.publication;
            const double due_now = pub.spec().rate * elapsed + 1.0;
            const std::size_t due =
                due_now >= static_cast<double>(pub.total()) ? pub.total() : static_cast<std::size_t>(due_now);
            if (due > rated.released) {
                group.queue.publish(rated.publication, rated.released, due);
                rated.released = due;
            }
        }
        group.rated.erase(
            std::remove_if(group.rated.begin(), group.rated.end(),
                           [](const RatedPublication& r) { return r.released >= r.publication->total(); }),
            group.rated.end());
    }

    void tick() {
        if (stopping_) return;  // run() waits for every scheduled job: stop rescheduling
        const auto now = Clock::now();
        expire_handshakes(now);
        end_push_stalls(now);
        for (auto& [name, group] : groups_) {
            release_rated(*group);
            for (const auto& timed_out : group->queue.expire(now)) {
                count_code(name, code::ack_timeout);
                std::string who = field("group", name);
                for (const auto& [key, state] : conns_)
                    if (state->id == timed_out.consumer) who = describe(*state);
                log_->write("ack_timeout", code::ack_timeout, who + " " + field("messageId", timed_out.message_id));
            }
            dispatch(name, *group);
        }
        for (auto& [key, state] : conns_) {
            if (!state->admitted || state->closing || state->sender || !state->links.empty() ||
                now < state->link_deadline)
                continue;
            state->closing = true;
            log_->write("link_deadline", code::none, describe(*state));
            state->connection.close(proton::error_condition(
                "amqp:connection:forced",
                "no receiver link attached within " + std::to_string(options_.link_deadline.count()) + " ms"));
            wake(*state);
        }
        container_.schedule(proton::duration(kTick.count()), [this] { tick(); });
    }

    const proton::message& encode(const EmuMessage& m) {
        scratch_.clear();
        to_proton(m, scratch_);
        return scratch_;
    }

    // ---- any thread -------------------------------------------------------------

    // Runs fn on the container thread and waits for its result (bounded; a stall
    // extends the wait by its remaining time).
    template <class F>
    auto on_container(F fn) -> decltype(fn()) {
        using Result = decltype(fn());
        auto promise = std::make_shared<std::promise<Result>>();
        auto future = promise->get_future();
        const bool added = work_queue_.add([promise, fn]() mutable {
            try {
                promise->set_value(fn());
            } catch (...) {
                promise->set_exception(std::current_exception());
            }
        });
        if (!added) throw std::runtime_error("emulator is not running");
        auto deadline = Clock::now() + kControlTimeout;
        {
            std::lock_guard lock(stall_mutex_);
            if (stalled_ && stall_until_ + kControlTimeout > deadline) deadline = stall_until_ + kControlTimeout;
        }
        if (future.wait_until(deadline) != std::future_status::ready)
            throw std::runtime_error("emulator did not answer in time");
        return future.get();
    }

    EmulatorOptions options_;
    std::shared_ptr<EventLog> log_;

    // container thread only
    Authenticator auth_;
    IotdaAuthenticator iotda_auth_;
    std::map<std::string, std::size_t> iotda_connections_;       // admitted, per access key
    std::map<std::string, std::unique_ptr<GroupState>> groups_;  // the set of groups is fixed at construction
    std::map<ConnKey, std::unique_ptr<ConnState>> conns_;
    std::uint64_t next_conn_id_ = 0;
    ConnKey current_key_ = 0;          // connection whose event is being handled; 0 in jobs and timers
    std::vector<ConnState*> written_;  // connections sent to since the last flush
    struct Handshake {
        Clock::time_point accepted;  // first seen, within kSocketScan of the accept
        bool shut;
    };
    std::map<std::pair<int, std::string>, Handshake> handshakes_;  // (fd, peer) not yet authenticated
    Clock::time_point next_socket_scan_{};
    std::map<std::string, Clock::time_point> group_stalls_;   // stall_pushes: group -> until
    std::map<std::string, Clock::time_point> client_stalls_;  // stall_pushes: client id -> until
    bool push_stalls_ = false;                                // either map is not empty
    std::optional<proton::ssl_server_options> ssl_options_;
    proton::listener listener_;
    proton::message scratch_;
    Listener listen_handler_{*this};

    // shared: immutable after construction, or thread-safe
    proton::container container_;
    proton::work_queue work_queue_;
    std::thread thread_;
    std::atomic<std::uint64_t> publish_seq_{0};
    std::atomic<std::int64_t> refuse_until_{0};  // steady-clock ms

    // shared: start-up handshake
    mutable std::mutex start_mutex_;
    std::condition_variable start_cv_;
    std::uint16_t port_ = 0;
    std::optional<std::string> start_error_;
    bool finished_ = false;

    // shared: stall and stop
    std::mutex stall_mutex_;
    std::condition_variable stall_cv_;
    std::atomic<bool> stopping_{false};  // written under stall_mutex_ so stall waits see it
    bool stalled_ = false;
    Clock::time_point stall_until_;

    // shared: counters, under stats_mutex_
    mutable std::mutex stats_mutex_;
    StatsSnapshot stats_;
    std::map<std::uint64_t, ClientInfo> clients_;
};

Emulator::Emulator(EmulatorOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Emulator::~Emulator() = default;
std::uint16_t Emulator::start() { return impl_->start(); }
void Emulator::stop() { impl_->stop(); }
std::uint16_t Emulator::port() const { return impl_->port(); }
PublishResult Emulator::publish(PublishSpec spec) { return impl_->publish(std::move(spec)); }
std::size_t Emulator::drop_connections(const std::string& group) { return impl_->drop_connections(group); }
std::size_t Emulator::close_connections(const std::string& group, const std::string& condition,
                                        const std::string& description) {
    return impl_->close_connections(group, condition, description);
}
void Emulator::refuse_auth(std::chrono::milliseconds duration) { impl_->refuse_auth(duration); }
void Emulator::stall(std::chrono::milliseconds duration) { impl_->stall(duration); }
std::size_t Emulator::stall_pushes(const std::string& group, const std::string& client_id,
                                   std::chrono::milliseconds duration) {
    return impl_->stall_pushes(group, client_id, duration);
}
StatsSnapshot Emulator::stats() const { return impl_->stats(); }
std::vector<ClientInfo> Emulator::clients() const { return impl_->clients(); }

}  // namespace iot::emu
