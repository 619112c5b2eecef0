// How many messages one connection lets be in flight: granted as link credit
// and not yet arrived, or arrived, written and not yet accepted (an accept
// waits until journald has stored the entry).
//
// The window grows while it is what holds the sender back: the sender used
// every credit, and journald still confirms entries quickly. It shrinks when
// confirmations slow down, because then journald is behind and more credit
// would only queue more in memory (and bring the cloud's 30 s ack timeout
// closer). It never exceeds the configured `credit`, nor what the memory
// budget holds at the average size of the messages seen so far.
//
// Thread: the group thread (owned by a ConnectionSlot).
#pragma once

#include <cstddef>
#include <cstdint>

#include "iot-amqpd/duration.hpp"

namespace iot {

// Where a window starts: the fixed credit of earlier versions, which covers
// most streams; growth takes it further in a few round trips.
inline constexpr std::size_t kInitialCreditWindow = 200;
// A held message is in memory about three times its body: proton keeps the
// delivery's bytes until it is settled, in a buffer that grows by doubling
// (so up to twice the encoded message: measured, 64 KiB bodies held 128 KiB
// each), and the journal writer keeps the entry's bytes to write it again
// should journald drop it. Besides: the properties, the held entry, proton's
// delivery.
inline constexpr std::size_t kCopiesHeld = 3;
inline constexpr std::size_t kPerMessageOverhead = 1024;
// Until the first message shows their size, messages are taken to be this
// large, so the first credit granted keeps within the budget for bodies up to it.
inline constexpr std::size_t kAssumedMessageBytes = std::size_t{64} * 1024;
// Confirmations faster than this mean journald keeps up; twice as slow, it is behind.
inline constexpr Millis kConfirmLatencyTarget{100};

class CreditWindow {
public:
    // `upper_bound`: the group's `credit`; `byte_budget`: this connection's share of `memory_budget`.
    CreditWindow(std::size_t upper_bound, std::int64_t byte_budget);

    [[nodiscard]] std::size_t size() const { return size_; }
    // What the byte budget allows at the average message size, within the upper bound.
    [[nodiscard]] std::size_t cap() const;

    // A message arrived with this many body bytes.
    void observe_message(std::size_t body_bytes);
    // Deliveries were accepted. `starved`: the sender had no credit left
    // when they were; `latency`: how long the oldest of them waited for
    // journald; `accepted`: how many.
    void after_settle(bool starved, Millis latency, std::size_t accepted);

private:
    std::size_t upper_bound_;
    std::int64_t byte_budget_;
    double average_bytes_ = kAssumedMessageBytes;  // of the bodies seen, exponentially weighted
    bool seen_message_ = false;
    std::size_t size_;  // after the above: its start is computed from them
    std::size_t settled_since_change_ = 0;
};

}  // namespace iot
