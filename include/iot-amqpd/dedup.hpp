// The last N message ids a group wrote, to accept redeliveries without a
// second entry (the cloud delivers at least once; PROTOCOL.md §3.5).
//
// Thread: owned by one group thread.
#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_set>

namespace iot {

class DedupWindow {
public:
    explicit DedupWindow(std::size_t capacity) : capacity_(capacity) {}

    [[nodiscard]] bool contains(std::string_view id) const;
    // Remembers `id`, forgetting the oldest id when full. No-op when capacity is 0.
    void remember(std::string_view id);
    // Un-remembers `id` (its write turned out to be lost).
    void forget(std::string_view id);

    [[nodiscard]] std::size_t size() const { return order_.size(); }
    [[nodiscard]] std::size_t capacity() const { return capacity_; }

private:
    std::size_t capacity_;
    std::deque<std::string> order_;               // oldest first
    std::unordered_set<std::string_view> index_;  // views into order_'s strings (deque keeps them in place)
};

}  // namespace iot
