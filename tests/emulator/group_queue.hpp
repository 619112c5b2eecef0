// One consumer group's queue (PROTOCOL.md §3.4-3.6, §9.5): every message goes to
// exactly one consumer of the group that has link credit, is sent unsettled, and
// only `accepted` finishes it. released / rejected / modified, the consumer's loss
// and no disposition within the ack timeout put it back (same messageId) for a
// later delivery: into the backlog, which is re-pushed ahead of new messages but,
// as in the cloud, at most at the backlog rate (~200 msg/s per group), so new
// messages pass it meanwhile. Messages wait here while nobody is connected.
// Pure logic, no proton: owned by the emulator's container thread, not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "message_factory.hpp"
#include "rate_limiter.hpp"

namespace iot::emu {

// What the queue needs from one connection's receiver link.
class ConsumerPort {
public:
    virtual ~ConsumerPort() = default;
    [[nodiscard]] virtual int credit() const = 0;
    virtual void send(std::uint64_t delivery_id, const EmuMessage& message) = 0;
};

enum class Outcome { accepted, released, rejected, modified };

struct QueueCounters {
    std::uint64_t published = 0;    // messages made available to the group
    std::uint64_t delivered = 0;    // transfers sent, first deliveries and redeliveries
    std::uint64_t redelivered = 0;  // transfers of a message that had been sent before
    std::uint64_t accepted = 0;
    std::uint64_t late_accepts = 0;  // accepted after the ack timeout had already requeued it
    std::uint64_t released = 0;
    std::uint64_t rejected = 0;
    std::uint64_t modified = 0;
    std::uint64_t ack_timeouts = 0;
    std::uint64_t requeued_on_loss = 0;
    std::uint64_t queued = 0;     // waiting to be sent (including not yet made and delayed retries)
    std::uint64_t in_flight = 0;  // sent, waiting for a disposition, not timed out
};

struct SettleInfo {
    bool known = false;  // false: no such delivery (already finished)
    bool late = false;   // disposition after the ack timeout
    std::string message_id;
};

struct TimedOut {
    std::uint64_t delivery_id = 0;
    std::uint64_t consumer = 0;
    std::string message_id;
};

class GroupQueue {
public:
    using Clock = std::chrono::steady_clock;

    GroupQueue(std::chrono::milliseconds ack_timeout, std::chrono::milliseconds redelivery_delay);

    void add_consumer(std::uint64_t consumer, ConsumerPort* port);
    // Returns how many unsettled deliveries went back to the queue.
    std::size_t remove_consumer(std::uint64_t consumer, Clock::time_point now);
    [[nodiscard]] std::size_t consumers() const { return consumers_.size(); }

    // Re-pushes of the backlog (redeliveries) at most this often; 0 = no limit.
    void set_backlog_rate(double per_second, Clock::time_point now) { backlog_limit_ = RateLimiter(per_second, now); }

    // Makes indexes [begin, end) of a publication available (lazily built).
    void publish(std::shared_ptr<const Publication> publication, std::size_t begin, std::size_t end);
    // A ready-made message (tests, or a caller that builds its own).
    void publish(std::shared_ptr<const EmuMessage> message);

    // Sends while some consumer has credit, at most `limit` transfers;
    // round-robin over the consumers. Returns the number of transfers sent.
    std::size_t dispatch(Clock::time_point now, std::int64_t wall_ms,
                         std::size_t limit = std::numeric_limits<std::size_t>::max());

    SettleInfo settle(std::uint64_t delivery_id, Outcome outcome, Clock::time_point now);
    // Deliveries whose ack timeout passed: requeued, and reported for logging.
    std::vector<TimedOut> expire(Clock::time_point now);

    [[nodiscard]] const QueueCounters& counters() const { return counters_; }

private:
    struct Entry {
        std::shared_ptr<const EmuMessage> message;       // set, or
        std::shared_ptr<const Publication> publication;  // [next, end) still to be made
        std::size_t next = 0;
        std::size_t end = 0;
        std::uint32_t attempts = 0;  // earlier transfers of this message
    };
    struct Retry {
        Clock::time_point ready_at;
        Entry entry;
    };
    struct InFlight {
        std::shared_ptr<const EmuMessage> message;
        std::uint64_t consumer = 0;
        std::uint32_t attempts = 0;
        bool timed_out = false;
    };
    struct Consumer {
        std::uint64_t id;
        ConsumerPort* port;
    };

    void requeue(std::shared_ptr<const EmuMessage> message, std::uint32_t attempts, Clock::time_point now);
    void promote_retries(Clock::time_point now);
    void update_gauges();

    std::chrono::milliseconds ack_timeout_;
    std::chrono::milliseconds redelivery_delay_;
    std::vector<Consumer> consumers_;
    std::size_t next_consumer_ = 0;
    std::deque<Entry> ready_;        // never sent yet
    std::deque<Entry> backlog_;      // sent before, due again
    std::uint64_t ready_count_ = 0;  // both
    RateLimiter backlog_limit_;
    std::deque<Retry> retries_;  // ready_at is non-decreasing: the delay is constant
    std::unordered_map<std::uint64_t, InFlight> in_flight_;
    std::deque<std::pair<Clock::time_point, std::uint64_t>> deadlines_;  // in send order
    std::uint64_t live_in_flight_ = 0;
    std::uint64_t next_delivery_id_ = 1;
    QueueCounters counters_;
};

}  // namespace iot::emu
