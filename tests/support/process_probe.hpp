// What /proc says about a running process: its peak and current resident
// memory, its open file descriptors and its threads. The resource-bound
// tests compare these before and after a load or a storm of reconnects.
//
// Stateless functions over /proc; call them from any thread.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace iot::test::proc {

struct MemoryUsage {
    std::int64_t peak_kib = 0;     // VmHWM: the most it was ever resident
    std::int64_t current_kib = 0;  // VmRSS
};

// nullopt when the process is gone or /proc cannot be read.
[[nodiscard]] std::optional<MemoryUsage> memory_usage(pid_t pid);

// Resets the process's VmHWM to its current RSS, so a later peak is that of
// what happened since (needs the right to write /proc/PID/clear_refs).
[[nodiscard]] bool reset_peak_memory(pid_t pid);

// How many descriptors are open in /proc/PID/fd.
[[nodiscard]] std::optional<std::size_t> open_fd_count(pid_t pid);

// What each open descriptor points at ("socket:[123]", "/dev/null", ...),
// sorted, for a failure message that shows what leaked.
[[nodiscard]] std::vector<std::string> open_fd_targets(pid_t pid);

// How many threads the process has (/proc/PID/task).
[[nodiscard]] std::optional<std::size_t> thread_count(pid_t pid);

// Counts of each kind of target ("socket" 12, "anon_inode:[eventfd]" 3,
// "/dev/null" 1): sockets are grouped, paths kept. One line per kind.
[[nodiscard]] std::string describe_fd_targets(const std::vector<std::string>& targets);

}  // namespace iot::test::proc
