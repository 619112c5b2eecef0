// What a group reports to the supervisor: counters and liveness, written by
// the group thread and read by the supervisor (status, watchdog, metrics).
//
// Thread: shared. Counters are relaxed atomics; the problem text is under a mutex.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace iot {

// Monotonic milliseconds (CLOCK_MONOTONIC), 0 = never.
[[nodiscard]] std::int64_t monotonic_ms();
// Wall-clock milliseconds since the epoch (what the cloud signs).
[[nodiscard]] std::int64_t wall_clock_ms();

class GroupHealth {
public:
    std::atomic<std::int64_t> last_tick_ms{0};     // the event loop's periodic tick
    std::atomic<std::int64_t> last_message_ms{0};  // last message written (monotonic)
    std::atomic<std::uint64_t> received{0};        // deliveries seen, duplicates included
    std::atomic<std::uint64_t> written{0};         // entries the output took
    std::atomic<std::uint64_t> duplicates{0};      // accepted without a second entry
    std::atomic<std::uint64_t> write_failures{0};  // failed write attempts
    std::atomic<std::uint64_t> reconnects{0};      // connection attempts after the first
    std::atomic<std::uint64_t> auth_failures{0};
    std::atomic<std::uint64_t> journal_dropped{0};     // entries journald read but did not store (written again)
    std::atomic<std::uint64_t> journal_queue_full{0};  // writes that found journald's socket queue full
    std::atomic<bool> output_holding{false};           // journald stores nothing: holding, no credit
    std::atomic<std::uint64_t> dedup_ids{0};           // message ids the dedup window remembers
    std::atomic<std::int64_t> credit_window{0};        // the connections' credit windows, summed (messages)
    std::atomic<int> connected{0};                     // connections with an attached receiver
    std::atomic<int> connections{0};                   // configured connections
    std::atomic<bool> started{false};                  // the container is running

    // A short operator-facing description of the current problem, "" when healthy.
    void set_problem(std::string text);
    [[nodiscard]] std::string problem() const;

private:
    mutable std::mutex mutex_;
    std::string problem_;
};

}  // namespace iot
