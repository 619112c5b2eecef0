#include "iot-amqpd/journald_sink.hpp"

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

JournaldSink::JournaldSink(std::string syslog_identifier, std::shared_ptr<JournalFollower> follower,
                           std::string socket_path)
    : syslog_identifier_(std::move(syslog_identifier)),
      follower_(std::move(follower)),
      ledger_(follower_->register_writer()),
      run_id_(follower_->run_field().substr(std::string_view(kRunField).size() + 1)),
      writer_(std::move(socket_path)) {}

int JournaldSink::write(const MessageRecord& record) {
    build_journal_fields(record, syslog_identifier_, buffers_);
    return write_fields(buffers_.fields);
}

int JournaldSink::write_fields(std::vector<JournalField>& fields) {
    fields.push_back({kRunField, run_id_});
    std::string entry = tracker_.spare_buffer();
    encode_journal_entry(fields, entry);
    follower_->want_pass();
    if (!tracker_.sending_freely()) {
        // journald absent (the last send failed): the caller holds the message and retries.
        if (send_error_ != 0) return send_error_;
        // Behind entries journald dropped: sent when it stores again.
        (void)tracker_.add_queued(std::move(entry));
        return 0;
    }
    std::uint64_t datagram = 0;
    if (const int err = send_entry(entry, datagram); err != 0) return err;
    (void)tracker_.add_sent(std::move(entry), datagram);
    return 0;
}

// The sequence field goes last, as a separate piece: a re-sent entry keeps its
// bytes and gets the number of its new datagram.
int JournaldSink::send_entry(std::string_view entry, std::uint64_t& datagram) {
    datagram = writer_.next_datagram();
    seq_field_.assign(kSeqField);
    seq_field_ += '=';
    append_number(seq_field_, ledger_->writer());
    seq_field_ += '.';
    append_number(seq_field_, datagram);
    seq_field_ += '\n';
    send_error_ = writer_.send(entry, seq_field_);
    return send_error_;
}

void JournaldSink::poll() {
    writer_.poll();
    ledger_->take(found_);
    if (!found_.empty()) tracker_.seen(found_);
    const auto now = StoreTracker::Clock::now();
    if (decision_ && follower_->pass_done_since(decision_->ticket)) {
        ledger_->take(found_);  // everything that pass found
        tracker_.seen(found_);
        // What the follower did not find is looked up once more before it counts as dropped.
        const auto unseen = tracker_.unseen_through(decision_->through);
        if (!unseen.empty()) {
            const auto stored = lookup_stored(follower_->run_field(), ledger_->writer(), unseen);
            missed_by_follower_ += stored.size();
            tracker_.seen(stored);
        }
        tracker_.decided(decision_->through, now);
        decision_.reset();
    }
    if (!decision_ && tracker_.awaiting_verdict()) {
        // The decision first, the ticket after: the pass must begin after journald finished with them.
        const std::uint64_t through = writer_.decided_through();
        if (through > decided_) {
            decided_ = through;
            decision_ = Decision{through, follower_->ticket()};
        }
    }
    while (const auto write = tracker_.next_to_send(now)) {
        std::uint64_t datagram = 0;
        if (send_entry(tracker_.entry(*write), datagram) != 0) {
            tracker_.send_failed(*write, now);
            break;
        }
        tracker_.sent(*write, datagram);
    }
    if (!idle()) follower_->want_pass();
}

}  // namespace iot
