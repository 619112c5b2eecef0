// One of a group's connections: connect with fresh credentials, attach one
// receiver, write each message and accept it only once the write is durable,
// reconnect with backoff after any loss.
//
// Thread: group thread only (proton callbacks and GroupConsumer's tick).
#pragma once

#include <proton/connection.hpp>
#include <proton/delivery.hpp>
#include <proton/message.hpp>
#include <proton/messaging_handler.hpp>
#include <proton/receiver.hpp>

#include <deque>
#include <string>

#include "iot-amqpd/backoff.hpp"
#include "iot-amqpd/cloud_profile.hpp"
#include "iot-amqpd/credit_window.hpp"
#include "iot-amqpd/diagnosis.hpp"

namespace iot {

class GroupConsumer;

// While stopping, a connection whose stream was quiet this long has nothing left in flight.
inline constexpr Millis kStopQuietPeriod{300};
// How long a Close waits for the peer to answer our link's Detach.
inline constexpr Millis kDetachWait{2000};

class ConnectionSlot final : public proton::messaging_handler {
public:
    ConnectionSlot(GroupConsumer& group, std::string client_id, std::uint64_t seed);
    ~ConnectionSlot() override;
    ConnectionSlot(const ConnectionSlot&) = delete;
    ConnectionSlot& operator=(const ConnectionSlot&) = delete;
    ConnectionSlot(ConnectionSlot&&) = delete;
    ConnectionSlot& operator=(ConnectionSlot&&) = delete;

    void tick(SteadyTime now);
    // Stop: finish writing what is in hand, then close. Returns true when already closed.
    bool close_for_stop();
    [[nodiscard]] bool closed() const { return state_ == State::waiting; }
    [[nodiscard]] bool receiving() const { return receiver_up_; }
    [[nodiscard]] const std::string& client_id() const { return client_id_; }
    // Accepts the held deliveries whose writes are durable; returns how many.
    std::size_t settle(std::uint64_t durable_through);
    [[nodiscard]] bool holding() const { return !held_.empty(); }
    // Flushes what a timer did to the connection (see tick()).
    void wake();
    // "" when healthy, else what went wrong and when the next attempt is.
    [[nodiscard]] std::string problem(SteadyTime now) const;

private:
    // detaching: our link's Detach is out; the Close follows the peer's Detach
    // (or kDetachWait), so every disposition sent before is processed first.
    enum class State { waiting, connecting, detaching, closing };

    struct Pending {
        proton::delivery delivery;
        proton::message message;  // a copy: proton reuses the one it hands to on_message
    };

    void attempt(SteadyTime now);
    void close_connection(const proton::error_condition& condition, SteadyTime now);
    void finish_close();
    bool close_if_detach_unanswered(SteadyTime now);
    void schedule_reconnect(SteadyTime now);
    void log_failure(SteadyTime now, Millis delay);
    // `now`: when it was written, for the credit window's confirmation latency.
    int write_then_hold(proton::delivery& delivery, const proton::message& message, SteadyTime now);
    void top_up();
    void publish_window();
    [[nodiscard]] bool may_grant() const;
    void drain_pending(SteadyTime now);
    void give_up_on_pending();

    void on_connection_open(proton::connection& connection) override;
    void on_receiver_open(proton::receiver& receiver) override;
    void on_message(proton::delivery& delivery, proton::message& message) override;
    void on_receiver_close(proton::receiver& receiver) override;
    void on_receiver_detach(proton::receiver& receiver) override;
    void on_receiver_error(proton::receiver& receiver) override;
    void on_session_close(proton::session& session) override;
    void on_connection_wake(proton::connection& connection) override;
    void on_session_error(proton::session& session) override;
    void on_connection_error(proton::connection& connection) override;
    void on_transport_error(proton::transport& transport) override;
    void on_transport_close(proton::transport& transport) override;
    void on_error(const proton::error_condition& condition) override;

    GroupConsumer& group_;
    std::string client_id_;
    std::string open_hostname_;  // an Open hostname to set once the transport is bound; empty: none
    Backoff backoff_;
    MessageScratch scratch_;

    State state_ = State::waiting;
    SteadyTime detach_deadline_{};
    proton::error_condition close_condition_;  // for the Close that follows the detach
    proton::connection connection_;
    proton::receiver receiver_;
    bool receiver_up_ = false;
    bool attempted_before_ = false;
    SteadyTime next_attempt_{};
    SteadyTime up_since_{};
    SteadyTime last_message_at_{};

    // The last failure, as the operator should see it.
    std::string condition_name_;
    std::string condition_description_;
    bool auth_failure_ = false;
    std::string last_clock_note_;  // the signing clock's last complaint, logged once
    std::string last_logged_failure_;
    int repeated_failures_ = 0;
    SteadyTime last_summary_{};

    // Written messages (and known duplicates), in arrival order, accepted once
    // the output has made `write` durable.
    struct Held {
        proton::delivery delivery;
        std::uint64_t write;
        SteadyTime written_at;
    };
    std::deque<Held> held_;
    CreditWindow window_;
    std::size_t published_window_ = 0;  // this slot's part of GroupHealth::credit_window

    // Messages whose write failed, in arrival order; credit stays stopped while any remain.
    std::deque<Pending> pending_;
    SteadyTime failing_since_{};
    SteadyTime next_write_retry_{};
    Millis write_retry_delay_{100};
};

}  // namespace iot
