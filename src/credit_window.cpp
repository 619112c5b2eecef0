#include "iot-amqpd/credit_window.hpp"

#include <algorithm>

namespace iot {
namespace {

// A window changes at most once per round trip: after this share of it was
// accepted, the effect of the last change shows in what is measured next.
constexpr std::size_t kRoundTripShare = 2;  // half a window
// The newest message's weight in the average size: reacts within some
// hundred messages, not to one large one.
constexpr double kSizeWeight = 1.0 / 64;

}  // namespace

CreditWindow::CreditWindow(std::size_t upper_bound, std::int64_t byte_budget)
    : upper_bound_(std::max<std::size_t>(upper_bound, 1)),
      byte_budget_(byte_budget),
      size_(std::min(kInitialCreditWindow, cap())) {}

std::size_t CreditWindow::cap() const {
    const double per_message = kCopiesHeld * average_bytes_ + static_cast<double>(kPerMessageOverhead);
    const double fits = static_cast<double>(byte_budget_) / per_message;
    if (fits < 1) return 1;
    return std::min(upper_bound_, static_cast<std::size_t>(std::min(fits, 1e9)));
}

void CreditWindow::observe_message(std::size_t body_bytes) {
    const auto bytes = static_cast<double>(body_bytes);
    if (!seen_message_) {  // the first size known: the start as it would have been with it
        seen_message_ = true;
        average_bytes_ = bytes;
        size_ = std::min(kInitialCreditWindow, cap());
        return;
    }
    average_bytes_ += (bytes - average_bytes_) * kSizeWeight;
    size_ = std::min(size_, cap());  // larger messages: the budget holds fewer at once
}

void CreditWindow::after_settle(bool starved, Millis latency, std::size_t accepted) {
    settled_since_change_ += accepted;
    if (settled_since_change_ < std::max<std::size_t>(size_ / kRoundTripShare, 1)) return;
    const std::size_t before = size_;
    if (latency > 2 * kConfirmLatencyTarget)
        size_ = std::max<std::size_t>(size_ * 3 / 4, 1);
    else if (starved && latency <= kConfirmLatencyTarget)
        size_ = std::min(size_ * 2, cap());
    if (size_ != before) settled_since_change_ = 0;
}

}  // namespace iot
