// Seeds a group's de-duplication window from the journal itself: the most
// recent IOT_MESSAGE_IDs this daemon wrote for the group, so a message the
// cloud redelivers after a crash or restart (written, not yet accepted) is
// not written a second time.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "iot-amqpd/dedup.hpp"

namespace iot {

inline constexpr std::chrono::hours kSeedMaxAge{24};

struct SeedResult {
    std::size_t ids = 0;
    std::chrono::milliseconds elapsed{0};
    int error = 0;  // errno from sd-journal, 0 when the journal could be read
};

// Reads at most window.capacity() entries, none older than kSeedMaxAge.
[[nodiscard]] SeedResult seed_from_journal(std::string_view syslog_identifier, std::string_view group,
                                           DedupWindow& window);

}  // namespace iot
