#include "iot-amqpd/dedup.hpp"

namespace iot {

bool DedupWindow::contains(std::string_view id) const { return index_.count(id) != 0; }

void DedupWindow::remember(std::string_view id) {
    if (capacity_ == 0 || contains(id)) return;
    if (order_.size() == capacity_) {
        index_.erase(order_.front());
        order_.pop_front();
    }
    order_.emplace_back(id);
    index_.insert(order_.back());
}

}  // namespace iot
