#include "group_queue.hpp"

#include <algorithm>

namespace iot::emu {

GroupQueue::GroupQueue(std::chrono::milliseconds ack_timeout, std::chrono::milliseconds redelivery_delay)
    : ack_timeout_(ack_timeout), redelivery_delay_(redelivery_delay) {}

void GroupQueue::add_consumer(std::uint64_t consumer, ConsumerPort* port) { consumers_.push_back({consumer, port}); }

std::size_t GroupQueue::remove_consumer(std::uint64_t consumer, Clock::time_point now) {
    consumers_.erase(
        std::remove_if(consumers_.begin(), consumers_.end(), [&](const Consumer& c) { return c.id == consumer; }),
        consumers_.end());
    std::size_t requeued = 0;
    for (auto it = in_flight_.begin(); it != in_flight_.end();) {
        if (it->second.consumer != consumer) {
            ++it;
            continue;
        }
        if (!it->second.timed_out) {
            --live_in_flight_;
            requeue(it->second.message, it->second.attempts + 1, now);
            ++requeued;
        }
        it = in_flight_.erase(it);
    }
    counters_.requeued_on_loss += requeued;
    update_gauges();
    return requeued;
}

void GroupQueue::publish(std::shared_ptr<const Publication> publication, std::size_t begin, std::size_t end) {
    if (begin >= end) return;
    Entry entry;
    entry.publication = std::move(publication);
    entry.next = begin;
    entry.end = end;
    ready_.push_back(std::move(entry));
    ready_count_ += end - begin;
    counters_.published += end - begin;
    update_gauges();
}

void GroupQueue::publish(std::shared_ptr<const EmuMessage> message) {
    Entry entry;
    entry.message = std::move(message);
    ready_.push_back(std::move(entry));
    ++ready_count_;
    ++counters_.published;
    update_gauges();
}

void GroupQueue::requeue(std::shared_ptr<const EmuMessage> message, std::uint32_t attempts, Clock::time_point now) {
    Entry entry;
    entry.message = std::move(message);
    entry.attempts = attempts;
    if (redelivery_delay_.count() <= 0) {
        backlog_.push_back(std::move(entry));
        ++ready_count_;
    } else {
        retries_.push_back({now + redelivery_delay_, std::move(entry)});
    }
}

void GroupQueue::promote_retries(Clock::time_point now) {
    while (!retries_.empty() && retries_.front().ready_at <= now) {
        backlog_.push_back(std::move(retries_.front().entry));
        ++ready_count_;
        retries_.pop_front();
    }
}

std::size_t GroupQueue::dispatch(Clock::time_point now, std::int64_t wall_ms, std::size_t limit) {
    promote_retries(now);
    std::size_t sent = 0;
    while (sent < limit && !consumers_.empty()) {
        // The backlog first while its rate allows, else new messages.
        const bool from_backlog = !backlog_.empty() && backlog_limit_.available(now) > 0;
        if (!from_backlog && ready_.empty()) break;
        // The next consumer in rotation that has credit, if any.
        const std::size_t n = consumers_.size();
        std::size_t chosen = n;
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t candidate = (next_consumer_ + i) % n;
            if (consumers_[candidate].port->credit() > 0) {
                chosen = candidate;
                break;
            }
        }
        if (chosen == n) break;
        next_consumer_ = (chosen + 1) % n;

        Entry& front = from_backlog ? backlog_.front() : ready_.front();
        std::shared_ptr<const EmuMessage> message;
        const std::uint32_t attempts = front.attempts;
        if (front.publication) {
            message = front.publication->make(front.next++, wall_ms);
            if (front.next >= front.end) ready_.pop_front();
        } else {
            message = std::move(front.message);
            (from_backlog ? backlog_ : ready_).pop_front();
        }
        if (from_backlog) backlog_limit_.take(now);
        --ready_count_;

        const std::uint64_t id = next_delivery_id_++;
        in_flight_.emplace(id, InFlight{message, consumers_[chosen].id, attempts, false});
        deadlines_.emplace_back(now + ack_timeout_, id);
        ++live_in_flight_;
        ++counters_.delivered;
        if (attempts > 0) ++counters_.redelivered;
        ++sent;
        consumers_[chosen].port->send(id, *message);
    }
    update_gauges();
    return sent;
}

SettleInfo GroupQueue::settle(std::uint64_t delivery_id, Outcome outcome, Clock::time_point now) {
    SettleInfo info;
    const auto it = in_flight_.find(delivery_id);
    if (it == in_flight_.end()) return info;
    info.known = true;
    info.late = it->second.timed_out;
    info.message_id = it->second.message->message_id;
    switch (outcome) {
        case Outcome::accepted: ++counters_.accepted; break;
        case Outcome::released: ++counters_.released; break;
        case Outcome::rejected: ++counters_.rejected; break;
        case Outcome::modified: ++counters_.modified; break;
    }
    if (info.late) {
        // Already back in the queue: a late accept may end up delivered twice, as in the cloud.
        if (outcome == Outcome::accepted) ++counters_.late_accepts;
    } else {
        --live_in_flight_;
        if (outcome != Outcome::accepted) requeue(it->second.message, it->second.attempts + 1, now);
    }
    in_flight_.erase(it);
    update_gauges();
    return info;
}

std::vector<TimedOut> GroupQueue::expire(Clock::time_point now) {
    std::vector<TimedOut> out;
    while (!deadlines_.empty()) {
        const auto [deadline, id] = deadlines_.front();
        const auto it = in_flight_.find(id);
        // Settled deliveries are dropped from the front too, so this stays short.
        if (it == in_flight_.end() || it->second.timed_out) {
            deadlines_.pop_front();
            continue;
        }
        if (deadline > now) break;
        deadlines_.pop_front();
        it->second.timed_out = true;
        --live_in_flight_;
        ++counters_.ack_timeouts;
        requeue(it->second.message, it->second.attempts + 1, now);
        out.push_back({id, it->second.consumer, it->second.message->message_id});
    }
    if (!out.empty()) update_gauges();
    return out;
}

void GroupQueue::update_gauges() {
    counters_.queued = ready_count_ + retries_.size();
    counters_.in_flight = live_in_flight_;
}

}  // namespace iot::emu
