#include "iot-amqpd/journald_sink.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <iterator>

namespace iot {
namespace {

void append_number(std::string& out, std::uint64_t value) {
    char digits[24];
    const auto result = std::to_chars(std::begin(digits), std::end(digits), value);
    out.append(std::begin(digits), result.ptr);
}

}  // namespace

JournaldSink::JournaldSink(std::string syslog_identifier, std::string socket_path)
    : syslog_identifier_(std::move(syslog_identifier)), writer_(std::move(socket_path)) {}

int JournaldSink::write(const MessageRecord& record) {
    build_journal_fields(record, syslog_identifier_, buffers_);
    return write_fields(buffers_.fields);
}

int JournaldSink::write_fields(std::vector<JournalField>& fields) {
    fields.push_back({kRunField, follower_.run_id()});
    std::string entry = tracker_.spare_buffer();
    encode_journal_entry(fields, entry);
    if (!tracker_.sending_freely()) {
        // journald absent (the last send failed): the caller holds the message and retries.
        if (send_error_ != 0) return send_error_;
        // Behind entries journald dropped (sent when it stores again), or
        // behind entries its full queue did not take yet (sent as it reads).
        (void)tracker_.add_queued(std::move(entry));
        send_queued(StoreTracker::Clock::now());
        return 0;
    }
    std::uint64_t datagram = 0;
    int err = send_entry(entry, datagram, false);
    if (err == EAGAIN) {
        if (write_ahead()) {
            last_taken_ = StoreTracker::Clock::now();  // kept entries wait from here
            (void)tracker_.add_queued(std::move(entry));
            return 0;
        }
        err = send_entry(entry, datagram, true);
    }
    if (err != 0) return err;
    (void)tracker_.add_sent(std::move(entry), datagram);
    return 0;
}

void JournaldSink::send_queued(StoreTracker::Clock::time_point now) {
    while (const auto write = tracker_.next_to_send(now)) {
        std::uint64_t datagram = 0;
        const bool stalled = now - last_taken_ >= kStalledQueueWait;
        const int err = send_entry(tracker_.entry(*write), datagram, stalled);
        if (err == EAGAIN) break;  // journald's queue is full: the next write or poll goes on
        if (err != 0) {
            tracker_.send_failed(*write, now);
            break;
        }
        last_taken_ = now;
        tracker_.sent(*write, datagram);
    }
}

// The sequence field goes last, as a separate piece: a re-sent entry keeps its
// bytes and gets the number of its new datagram.
int JournaldSink::send_entry(std::string_view entry, std::uint64_t& datagram, bool wait) {
    datagram = writer_.next_datagram();
    seq_field_.assign(kSeqField);
    seq_field_ += '=';
    append_number(seq_field_, datagram);
    seq_field_ += '\n';
    const int err = wait ? writer_.send(entry, seq_field_) : writer_.try_send(entry, seq_field_);
    if (err == EAGAIN) {
        ++queue_full_;
        if (!write_ahead()) most_unread_when_full_ = std::max(most_unread_when_full_, writer_.unread());
        return err;  // nothing sent: not a failure
    }
    send_error_ = err;
    return err;
}

// journald finished with datagrams 1..through before the count began, so the
// count saw every stored one of them: the rest were dropped, once a look-up
// (which the count cannot mislead) does not find them either.
void JournaldSink::poll() {
    writer_.poll();
    const std::uint64_t through = tracker_.awaiting_verdict() ? writer_.decided_through() : 0;
    const FoundEntries found = follower_.count(through > decided_);
    if (found.count > 0) tracker_.found(found.count, found.last, found.uncertain);
    const auto now = StoreTracker::Clock::now();
    if (found.complete && through > decided_) {
        const auto unseen = tracker_.unseen_through(through);
        if (!unseen.empty()) tracker_.seen(lookup_stored(follower_.run_id(), unseen));
        tracker_.decided(through, now);
        decided_ = through;
    }
    send_queued(now);
}

}  // namespace iot
