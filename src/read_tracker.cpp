#include "iot-amqpd/read_tracker.hpp"

#include <algorithm>

namespace iot {

std::uint64_t ReadTracker::sent(std::uint64_t least_queued_bytes) {
    proven_ = inferred_;
    maybe_unread_.push_back({++last_sent_, std::max<std::uint64_t>(least_queued_bytes, 1)});
    return last_sent_;
}

void ReadTracker::observe_queued(std::uint64_t queued_bytes) {
    // The longest run of newest datagrams whose payloads fit in the queued
    // bytes bounds how many can still be unread; everything older was read.
    std::size_t could_be_unread = 0;
    std::uint64_t bytes = 0;
    for (auto it = maybe_unread_.rbegin(); it != maybe_unread_.rend(); ++it) {
        bytes += it->least_bytes;
        if (bytes > queued_bytes) break;
        ++could_be_unread;
    }
    const std::size_t read = maybe_unread_.size() - could_be_unread;
    if (read == 0) return;
    inferred_ = maybe_unread_[read - 1].number;
    maybe_unread_.erase(maybe_unread_.begin(), maybe_unread_.begin() + static_cast<std::ptrdiff_t>(read));
}

WriteRange ReadTracker::reader_lost() {
    const WriteRange lost{proven_ + 1, last_sent_};
    maybe_unread_.clear();
    inferred_ = proven_ = last_sent_;
    return lost;
}

}  // namespace iot
