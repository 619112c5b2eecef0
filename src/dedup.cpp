#include "iot-amqpd/dedup.hpp"

namespace iot {

bool DedupWindow::contains(std::string_view id) const { return index_.count(id) != 0; }

void DedupWindow::remember(std::string_view id) {
    if (capacity_ == 0 || contains(id)) return;
    if (order_.size() == capacity_) {
        // The oldest string may be one forget() left behind, whose id was remembered again later.
        if (const auto it = index_.find(order_.front()); it != index_.end() && it->data() == order_.front().data())
            index_.erase(it);
        order_.pop_front();
    }
    order_.emplace_back(id);
    index_.insert(order_.back());
}

// Leaves the string in order_ (erasing from the middle of a deque would move
// the strings index_ points into); it ages out with the others.
void DedupWindow::forget(std::string_view id) { index_.erase(id); }

}  // namespace iot
