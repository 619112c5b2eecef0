#include "iot-amqpd/store_tracker.hpp"

#include <algorithm>
#include <utility>

namespace iot {
namespace {

// Enough reusable buffers for a burst of ordinary entries; more, or big ones
// (a flood of 64 KiB bodies), would only hold memory.
constexpr std::size_t kMaxSpares = 32;
constexpr std::size_t kMaxSpareBytes = std::size_t{16} * 1024;

}  // namespace

std::uint64_t StoreTracker::add(std::string entry, State state) {
    writes_.push_back({std::move(entry), state});
    return ++last_write_;
}

std::uint64_t StoreTracker::add_sent(std::string entry, std::uint64_t datagram) {
    const std::uint64_t write = add(std::move(entry), State::out);
    out_.push_back({datagram, write, false});
    return write;
}

std::uint64_t StoreTracker::add_queued(std::string entry) {
    const std::uint64_t write = add(std::move(entry), State::queued);
    queued_.push_back(write);
    return write;
}

std::optional<std::uint64_t> StoreTracker::next_to_send(Clock::time_point now) const {
    if (queued_.empty()) return std::nullopt;
    if (!storing_ && (probe_ || now < next_probe_)) return std::nullopt;
    return queued_.front();
}

const std::string& StoreTracker::entry(std::uint64_t write) const { return at(write).entry; }

void StoreTracker::sent(std::uint64_t write, std::uint64_t datagram) {
    if (const auto it = std::find(queued_.begin(), queued_.end(), write); it != queued_.end()) queued_.erase(it);
    at(write).state = State::out;
    out_.push_back({datagram, write, false});
    if (!storing_) probe_ = write;
}

void StoreTracker::send_failed(std::uint64_t /*write*/, Clock::time_point now) {
    // It stays queued; without a delay a dead journald would be retried on every poll.
    next_probe_ = now + probe_delay_;
    if (storing_) storing_ = false;
}

void StoreTracker::seen(const std::vector<std::uint64_t>& datagrams) {
    for (const std::uint64_t datagram : datagrams) {
        const auto it = std::lower_bound(out_.begin(), out_.end(), datagram,
                                         [](const Out& out, std::uint64_t d) { return out.datagram < d; });
        // Not found: an entry seen twice (journald copies the runtime journal to /var on a flush).
        if (it == out_.end() || it->datagram != datagram || it->seen) continue;
        it->seen = true;
        stored(it->write);
    }
    while (!out_.empty() && out_.front().seen) out_.pop_front();
}

void StoreTracker::found(std::uint64_t count, std::uint64_t last, bool uncertain) {
    if (last <= found_through_) return;  // not after the last report: a copy; nothing to learn from it
    const auto by_datagram = [](const Out& out, std::uint64_t d) { return out.datagram < d; };
    const auto first = std::lower_bound(out_.begin(), out_.end(), found_through_ + 1, by_datagram);
    const auto end = std::lower_bound(first, out_.end(), last + 1, by_datagram);
    found_through_ = last;
    if (uncertain || static_cast<std::uint64_t>(end - first) != count) return;
    for (auto it = first; it != end; ++it) {
        if (it->seen) continue;
        it->seen = true;
        stored(it->write);
    }
    while (!out_.empty() && out_.front().seen) out_.pop_front();
}

std::vector<std::uint64_t> StoreTracker::unseen_through(std::uint64_t through) const {
    std::vector<std::uint64_t> unseen;
    for (const Out& out : out_) {
        if (out.datagram > through) break;
        if (!out.seen) unseen.push_back(out.datagram);
    }
    return unseen;
}

void StoreTracker::decided(std::uint64_t through, Clock::time_point now) {
    while (!out_.empty() && out_.front().datagram <= through) {
        if (!out_.front().seen) dropped(out_.front().write, now);
        out_.pop_front();
    }
}

void StoreTracker::stored(std::uint64_t write) {
    Write& w = at(write);
    w.state = State::stored;
    if (spares_.size() < kMaxSpares && w.entry.capacity() <= kMaxSpareBytes) spares_.push_back(std::move(w.entry));
    w.entry = std::string();
    if (probe_ == write) {  // journald stores again: everything queued may go
        storing_ = true;
        probe_.reset();
        failed_probes_ = 0;
        probe_delay_ = kFirstProbeDelay;
    }
    pop_stored_front();
}

void StoreTracker::dropped(std::uint64_t write, Clock::time_point now) {
    ++dropped_;
    at(write).state = State::queued;
    queued_.insert(std::lower_bound(queued_.begin(), queued_.end(), write), write);  // oldest first
    if (probe_ == write) {
        probe_.reset();
        ++failed_probes_;
        next_probe_ = now + probe_delay_;
        probe_delay_ = std::min(probe_delay_ * 2, kMaxProbeDelay);
    } else if (storing_) {
        // The first drop may be a one-off (a rate limit, a rotation): probe at once.
        storing_ = false;
        next_probe_ = now;
    }
}

void StoreTracker::pop_stored_front() {
    while (!writes_.empty() && writes_.front().state == State::stored) {
        writes_.pop_front();
        ++first_write_;
    }
}

std::uint64_t StoreTracker::stored_through() const { return first_write_ - 1; }

std::string StoreTracker::spare_buffer() {
    if (spares_.empty()) return {};
    std::string buffer = std::move(spares_.back());
    spares_.pop_back();
    buffer.clear();
    return buffer;
}

}  // namespace iot
