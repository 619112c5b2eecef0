#include "iot-amqpd/connection_slot.hpp"

#include <proton/connection.h>
#include <proton/link.h>
#include <proton/connection_options.hpp>
#include <proton/delivery_mode.hpp>
#include <proton/error_condition.hpp>
#include <proton/receiver_options.hpp>
#include <proton/transport.hpp>

#include <openssl/crypto.h>

#include <algorithm>
#include <cstring>

#include "iot-amqpd/errno_text.hpp"
#include "iot-amqpd/group_consumer.hpp"
#include "iot-amqpd/logging.hpp"
#include "iot-amqpd/signing_clock.hpp"
#include "iot-amqpd/tls_client_options.hpp"

namespace iot {
namespace {

constexpr Millis kFirstWriteRetry{100};
constexpr Millis kMaxWriteRetry{2000};
constexpr auto kFailureSummaryEvery = std::chrono::minutes(1);

// The public proton-cpp type that holds a connection's pn_connection_t; deriving reaches it.
class RawConnection final : public proton::connection {
public:
    explicit RawConnection(const proton::connection& open) : proton::connection(open) {}
    [[nodiscard]] pn_connection_t* raw() const { return pn_object(); }
};

// Likewise for a receiver's pn_link_t.
class RawReceiver final : public proton::receiver {
public:
    explicit RawReceiver(const proton::receiver& open) : proton::receiver(open) {}
    [[nodiscard]] pn_link_t* raw() const { return pn_object(); }
};

// Deliveries proton has received on the link and not yet handed to
// on_message: their credit is used, and they are not held yet.
std::size_t arrived_unread(const proton::receiver& receiver) {
    return static_cast<std::size_t>(std::max(pn_link_queued(RawReceiver(receiver).raw()), 0));
}

// The hostname of the AMQP Open frame only: proton-cpp's virtual_host() also
// names the TLS peer, and there is no option for the Open frame alone.
void set_open_hostname(const proton::connection& connection, const std::string& hostname) {
    pn_connection_set_hostname(RawConnection(connection).raw(), hostname.c_str());
}

// ", consumer group <id>" for a cloud whose groups have an ID, for log lines.
std::string group_of(const CloudSettings& cloud) {
    const std::string_view id = cloud.group_id();
    return id.empty() ? std::string() : ", consumer group " + std::string(id);
}

long long seconds_until(SteadyTime when, SteadyTime now) {
    const auto ms = std::chrono::duration_cast<Millis>(when - now).count();
    return ms <= 0 ? 0 : (ms + 999) / 1000;
}

}  // namespace

ConnectionSlot::ConnectionSlot(GroupConsumer& group, std::string client_id, std::uint64_t seed)
    : group_(group),
      client_id_(std::move(client_id)),
      backoff_(group.config().reconnect, seed),
      window_(static_cast<std::size_t>(group.config().credit),
              group.config().memory_budget / std::max(group.config().connections, 1)) {
    publish_window();
}

ConnectionSlot::~ConnectionSlot() {
    group_.health().credit_window.fetch_sub(static_cast<std::int64_t>(published_window_), std::memory_order_relaxed);
}

// For the metrics: the group's gauge is the sum of its connections' windows.
void ConnectionSlot::publish_window() {
    const std::size_t now = window_.size();
    if (now == published_window_) return;
    group_.health().credit_window.fetch_add(
        static_cast<std::int64_t>(now) - static_cast<std::int64_t>(published_window_), std::memory_order_relaxed);
    published_window_ = now;
}

// ---- connecting -------------------------------------------------------------

void ConnectionSlot::attempt(SteadyTime now) {
    const SteadyTime earliest = group_.limiter().earliest_attempt(now);
    if (earliest > now) {  // the profile's attempts per minute per group (Alibaba: 100)
        next_attempt_ = earliest;
        return;
    }
    group_.limiter().record(now);
    if (attempted_before_) group_.health().reconnects.fetch_add(1, std::memory_order_relaxed);
    attempted_before_ = true;

    const GroupConfig& cfg = group_.config();
    const LogContext ctx{"connecting", cfg.name};
    try {
        // Signed immediately before connecting: a fresh timestamp every attempt,
        // newer than the last one even when the wall clock stepped back.
        const SigningClock::Stamp stamp = process_signing_clock().stamp(client_id_, wall_clock_ms(), boot_clock_ms());
        if (!stamp.note.empty() && stamp.note != last_clock_note_)
            log_event(spdlog::level::err, LogContext{"clock_off", cfg.name}, "{}", stamp.note);
        last_clock_note_ = stamp.note;
        Credentials creds = group_.cloud().credentials(client_id_, stamp.timestamp_ms);
        std::string password(creds.password.reveal());
        proton::connection_options opts;
        opts.handler(*this)
            .user(creds.user_name)
            .password(password)
            .sasl_enabled(true)
            .sasl_allowed_mechs("PLAIN")
            // proton advertises half of this to the peer (DESIGN.md §13): the cloud sees `heartbeat`.
            .idle_timeout(proton::duration(2 * cfg.heartbeat.count()))
            .virtual_host(cfg.host);
        if (!cfg.plaintext) opts.ssl_client_options(group_.ssl_options());
        OPENSSL_cleanse(password.data(), password.size());
        OPENSSL_cleanse(creds.user_name.data(), creds.user_name.size());
        const std::string url =
            std::string(cfg.plaintext ? "amqp://" : "amqps://") + cfg.host + ":" + std::to_string(cfg.port);
        log_event(spdlog::level::debug, ctx, "connecting to {} as {}", url, client_id_);
        connection_ = group_.container().connect(url, opts);
        // proton names the TLS peer (SNI and the certificate check) after the
        // virtual host when it binds the transport, so that is the endpoint's
        // host; a cloud that wants another Open hostname gets it once the
        // transport is bound (the wake comes after the bind, long before the
        // Open frame, which waits for the SASL outcome).
        open_hostname_ = group_.cloud().open_hostname(cfg.host);
        if (open_hostname_ != cfg.host) connection_.wake();
        state_ = State::connecting;
    } catch (const CredentialError& e) {
        condition_name_ = "iot-amqpd:credentials";
        condition_description_ = e.what();
        auth_failure_ = false;
        const Millis delay = backoff_.next_delay(false);
        next_attempt_ = now + delay;
        log_failure(now, delay);
    }
}

void ConnectionSlot::on_connection_wake(proton::connection& connection) {
    if (open_hostname_.empty()) return;
    set_open_hostname(connection, open_hostname_);
    open_hostname_.clear();
}

void ConnectionSlot::on_connection_open(proton::connection& connection) {
    process_signing_clock().accepted(client_id_);  // the cloud took our timestamp: it anchors the next ones
    proton::receiver_options ropts;
    // credit_window(0): the daemon grants credit itself (top_up()).
    ropts.credit_window(0).auto_accept(false).delivery_mode(proton::delivery_mode::AT_LEAST_ONCE);
    connection.open_receiver(group_.cloud().source_address(), ropts);
}

void ConnectionSlot::on_receiver_open(proton::receiver& receiver) {
    receiver_ = receiver;
    receiver_up_ = true;
    up_since_ = std::chrono::steady_clock::now();
    condition_name_.clear();
    condition_description_.clear();
    auth_failure_ = false;
    last_logged_failure_.clear();
    repeated_failures_ = 0;
    group_.health().connected.fetch_add(1, std::memory_order_relaxed);
    group_.connection_count_changed();
    const GroupConfig& cfg = group_.config();
    log_event(spdlog::level::info, LogContext{"connected", cfg.name},
              "connected to {}:{} as {} ({}), receiving with a credit window of {} (at most {})", cfg.host, cfg.port,
              client_id_, group_.cloud().identity(), window_.size(), cfg.credit);
    top_up();
}

// ---- receiving --------------------------------------------------------------

void ConnectionSlot::on_message(proton::delivery& delivery, proton::message& message) {
    const auto now = std::chrono::steady_clock::now();
    last_message_at_ = now;
    group_.health().received.fetch_add(1, std::memory_order_relaxed);
    if (!pending_.empty()) {  // keep arrival order behind the message that failed
        pending_.push_back({delivery, message});
        return;
    }
    const int err = write_then_hold(delivery, message, now);
    if (err == 0) {
        settle(group_.durable_through());
        if (!held_.empty()) group_.settle_soon();
        return;
    }
    pending_.push_back({delivery, message});
    failing_since_ = now;
    write_retry_delay_ = kFirstWriteRetry;
    next_write_retry_ = now + write_retry_delay_;
    log_event(spdlog::level::err, LogContext{"write_failed", group_.config().name},
              "the output did not take a message ({}); holding it unacknowledged, credit stopped, retrying for up "
              "to {}s",
              errno_text(err), kWriteRetryLimit.count() / 1000);
}

// Write first, accept after: nothing is acknowledged that the output did not
// store. The delivery is held until its write is durable; a duplicate waits
// for the latest write, which its earlier one cannot be newer than.
int ConnectionSlot::write_then_hold(proton::delivery& delivery, const proton::message& message, SteadyTime now) {
    const GroupConfig& cfg = group_.config();
    MessageRecord record;
    record.group = cfg.name;
    record.group_id = group_.cloud().group_id();
    record.client_id = client_id_;
    group_.cloud().describe(message, scratch_, record);

    GroupHealth& health = group_.health();
    if (record.message_id && group_.dedup().contains(*record.message_id)) {
        health.duplicates.fetch_add(1, std::memory_order_relaxed);
    } else {
        if (const int err = group_.write(record); err != 0) {
            health.write_failures.fetch_add(1, std::memory_order_relaxed);
            return err;
        }
        health.written.fetch_add(1, std::memory_order_relaxed);
        health.last_message_ms.store(monotonic_ms(), std::memory_order_relaxed);
    }
    window_.observe_message(record.body.size());
    publish_window();
    held_.push_back({delivery, group_.last_write(), now});
    top_up();
    return 0;
}

// The next messages may come while earlier ones wait for journald to read
// them back, so journald always has a queue to work on; but proton keeps a
// delivery's buffer until it is settled, so what is granted, held and pending
// together stays within the window (and so within the memory budget).
// Credit goes out in batches of a sixteenth of the window, not one per
// message, so the peer sees fewer flow frames.
void ConnectionSlot::top_up() {
    if (!receiver_up_ || group_.stopping() || !pending_.empty() || !may_grant()) return;
    const std::size_t in_flight =
        held_.size() + arrived_unread(receiver_) + static_cast<std::size_t>(std::max(receiver_.credit(), 0));
    const std::size_t window = window_.size();
    if (in_flight >= window) return;
    const std::size_t missing = window - in_flight;
    if (missing < std::max<std::size_t>(window / 16, 1)) return;
    receiver_.add_credit(static_cast<int>(missing));
}

// While the output stores nothing, no credit: the cloud keeps the backlog.
bool ConnectionSlot::may_grant() const { return !group_.output_holding(); }

std::size_t ConnectionSlot::settle(std::uint64_t durable_through) {
    std::size_t accepted = 0;
    SteadyTime oldest{};
    while (!held_.empty() && held_.front().write <= durable_through) {
        if (accepted == 0) oldest = held_.front().written_at;
        held_.front().delivery.accept();
        held_.pop_front();
        ++accepted;
    }
    if (accepted > 0) {
        // Starved: the peer had used all its credit and the daemon has read
        // everything it sent, so the peer waits on this window, not on the
        // daemon. (With deliveries still unread, the daemon is what is slow:
        // a larger window would not help it.)
        const bool starved = receiver_up_ && receiver_.credit() <= 0 && arrived_unread(receiver_) == 0;
        window_.after_settle(starved, std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - oldest),
                             accepted);
        publish_window();
    }
    top_up();
    return accepted;
}

void ConnectionSlot::wake() {
    if (state_ != State::waiting) connection_.wake();
}

void ConnectionSlot::drain_pending(SteadyTime now) {
    while (!pending_.empty()) {
        if (write_then_hold(pending_.front().delivery, pending_.front().message, now) != 0) {
            if (now - failing_since_ >= kWriteRetryLimit) {
                give_up_on_pending();
                return;
            }
            write_retry_delay_ = std::min(write_retry_delay_ * 2, kMaxWriteRetry);
            next_write_retry_ = now + write_retry_delay_;
            return;
        }
        pending_.pop_front();
    }
    settle(group_.durable_through());
    if (!held_.empty()) group_.settle_soon();
    log_event(spdlog::level::info, LogContext{"write_recovered", group_.config().name},
              "the output takes messages again; credit resumed");
}

void ConnectionSlot::give_up_on_pending() {
    log_event(spdlog::level::err, LogContext{"write_timeout", group_.config().name},
              "the output did not take messages for {}s; closing the connection so the cloud redelivers the {} "
              "unacknowledged messages",
              kWriteRetryLimit.count() / 1000, pending_.size());
    pending_.clear();  // their deliveries die with the connection; the cloud redelivers them
    close_connection(proton::error_condition("amqp:internal-error", "output unavailable"),
                     std::chrono::steady_clock::now());
}

// Detach first, Close after the peer's Detach: a broker may drop dispositions
// that arrive just before a Close and redeliver those messages (RabbitMQ was
// seen to), while a Detach is answered only once what came before it was
// processed. It is simply correct AMQP, for every peer. A peer that does not
// answer within kDetachWait gets the Close anyway (tick()).
void ConnectionSlot::close_connection(const proton::error_condition& condition, SteadyTime now) {
    if (state_ != State::connecting) return;  // waiting: nothing open; detaching or closing: under way
    close_condition_ = condition;
    if (receiver_up_ && receiver_.active()) {
        receiver_.close();
        state_ = State::detaching;
        detach_deadline_ = now + kDetachWait;
        return;
    }
    finish_close();
}

// The peer never answered our Detach: Close anyway. True when it did.
bool ConnectionSlot::close_if_detach_unanswered(SteadyTime now) {
    if (state_ != State::detaching || now < detach_deadline_) return false;
    finish_close();
    return true;
}

void ConnectionSlot::finish_close() {
    if (close_condition_.empty())
        connection_.close();
    else
        connection_.close(close_condition_);
    state_ = State::closing;
}

// ---- losing the connection --------------------------------------------------

void ConnectionSlot::on_receiver_close(proton::receiver& receiver) {
    if (state_ == State::detaching) {  // the answer to our Detach
        finish_close();
    } else if (state_ == State::connecting) {  // the cloud detached our only link: start over
        receiver.connection().close();
        state_ = State::closing;
    }
}

// A Detach without closed=true: the answer to our closing Detach from a peer
// that does not echo `closed`, or the peer detaching on its own.
void ConnectionSlot::on_receiver_detach(proton::receiver& receiver) { on_receiver_close(receiver); }

// The peer ended the session, and the link with it (RabbitMQ ends the session
// for an attach it refuses and when its side of the connection is closed by an
// operator): the connection alone is of no use, so start over.
void ConnectionSlot::on_session_close(proton::session& session) {
    if (state_ == State::detaching) {
        finish_close();
    } else if (state_ == State::connecting) {
        if (condition_name_.empty()) condition_name_ = "amqp:session:ended";
        session.connection().close();
        state_ = State::closing;
    }
}

void ConnectionSlot::on_session_error(proton::session& session) {
    condition_name_ = session.error().name();
    condition_description_ = session.error().description();
}

void ConnectionSlot::on_receiver_error(proton::receiver& receiver) {
    condition_name_ = receiver.error().name();
    condition_description_ = receiver.error().description();
}

void ConnectionSlot::on_connection_error(proton::connection& connection) {
    condition_name_ = connection.error().name();
    condition_description_ = connection.error().description();
}

void ConnectionSlot::on_transport_error(proton::transport& transport) {
    condition_name_ = transport.error().name();
    condition_description_ = transport.error().description();
}

void ConnectionSlot::on_error(const proton::error_condition& condition) {
    // The default handler throws, which would stop the whole group: record instead.
    condition_name_ = condition.name();
    condition_description_ = condition.description();
}

void ConnectionSlot::on_transport_close(proton::transport& /*transport*/) {
    if (receiver_up_) {
        receiver_up_ = false;
        group_.health().connected.fetch_sub(1, std::memory_order_relaxed);
    }
    held_.clear();  // settling them on a new connection would do nothing; the cloud redelivers
    pending_.clear();
    state_ = State::waiting;
    const auto now = std::chrono::steady_clock::now();
    if (!group_.stopping()) schedule_reconnect(now);
    group_.connection_count_changed();
}

void ConnectionSlot::schedule_reconnect(SteadyTime now) {
    if (up_since_ != SteadyTime{} && now - up_since_ >= kHealthyUptime) backoff_.reset();
    up_since_ = {};
    if (condition_name_.empty()) condition_name_ = "amqp:connection:lost";
    const Diagnosis diagnosis = diagnose(condition_name_, condition_description_, &group_.cloud().profile());
    auth_failure_ = diagnosis.kind == FailureKind::authentication;
    if (auth_failure_) {
        group_.health().auth_failures.fetch_add(1, std::memory_order_relaxed);
        process_signing_clock().refused(client_id_);
    }
    const Millis delay = backoff_.next_delay(auth_failure_);
    next_attempt_ = now + delay;
    log_failure(now, delay);
}

// One clear line per new kind of failure; identical repeats go to debug and a
// summary once a minute, so a reconnect storm does not flood the journal.
void ConnectionSlot::log_failure(SteadyTime now, Millis delay) {
    const GroupConfig& cfg = group_.config();
    const Diagnosis diagnosis = diagnose(condition_name_, condition_description_, &group_.cloud().profile());
    std::string what = condition_name_;
    if (!condition_description_.empty()) what += ": " + condition_description_;
    const auto retry_s = static_cast<double>(delay.count()) / 1000.0;
    if (what == last_logged_failure_) {
        ++repeated_failures_;
        log_event(spdlog::level::debug, LogContext{"reconnect_delay", cfg.name},
                  "{} failed again ({}); retry in {:.1f}s", client_id_, what, retry_s);
        if (now - last_summary_ >= kFailureSummaryEvery) {
            log_event(spdlog::level::warn, LogContext{"still_failing", cfg.name},
                      "{}: {} more failures like the last since {}s ago ({}); next attempt in {:.1f}s", client_id_,
                      repeated_failures_, std::chrono::duration_cast<std::chrono::seconds>(now - last_summary_).count(),
                      what, retry_s);
            repeated_failures_ = 0;
            last_summary_ = now;
        }
        return;
    }
    last_logged_failure_ = what;
    repeated_failures_ = 0;
    last_summary_ = now;
    const bool auth = diagnosis.kind == FailureKind::authentication;
    log_event(auth ? spdlog::level::err : spdlog::level::warn,
              LogContext{auth ? "auth_failed" : "disconnected", cfg.name},
              "{} ({}): {} for {} ({}{}); {}; reconnecting in {:.1f}s", to_string(diagnosis.kind), what, client_id_,
              cfg.host, group_.cloud().identity(), group_of(group_.cloud()), diagnosis.hint, retry_s);
}

// ---- driven by the group's tick ---------------------------------------------

// The tick is a container job (monotonic_timers.hpp), not one of this connection's events: what it
// does to the connection (accepts and credit after a write retry, a close) is
// only written to the socket when the connection next wakes. Without wake()
// that is the peer's next frame, up to half its idle time-out later, by which
// time the cloud's 30 s ack time-out may have fired; and a stop never sent its
// Close at all.
void ConnectionSlot::tick(SteadyTime now) {
    if (state_ == State::waiting && !group_.stopping() && now >= next_attempt_) attempt(now);
    if (close_if_detach_unanswered(now)) connection_.wake();
    if (!pending_.empty() && now >= next_write_retry_) {
        drain_pending(now);
        if (state_ != State::waiting) connection_.wake();
    }
}

// No new credit is granted while stopping, so the cloud can still send at most
// the credit it holds. Closing waits until that is used up (or the stream has
// been quiet for a moment, when the cloud has nothing left to send), so every
// message in flight is written AND accepted before the Close goes out; the
// group's grace period bounds the wait.
bool ConnectionSlot::close_for_stop() {
    if (state_ == State::waiting) return true;
    const auto now = std::chrono::steady_clock::now();
    if (!pending_.empty()) drain_pending(now);
    settle(group_.durable_through());
    const bool in_flight_done = !receiver_up_ || receiver_.credit() <= 0 || now - last_message_at_ >= kStopQuietPeriod;
    if (state_ == State::connecting && pending_.empty() && held_.empty() && in_flight_done)
        close_connection(proton::error_condition(), now);
    (void)close_if_detach_unanswered(now);
    connection_.wake();  // see tick()
    return false;
}

std::string ConnectionSlot::problem(SteadyTime now) const {
    if (receiver_up_) return pending_.empty() ? std::string() : "output not taking messages";
    if (condition_name_.empty()) return {};
    const Diagnosis diagnosis = diagnose(condition_name_, condition_description_, &group_.cloud().profile());
    std::string text(to_string(diagnosis.kind));
    if (state_ == State::waiting) text += ", retrying in " + std::to_string(seconds_until(next_attempt_, now)) + "s";
    return text;
}

}  // namespace iot
