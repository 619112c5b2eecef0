// journal-ceiling: how fast journald takes the daemon's entries when nothing
// else is in the way, the reference the daemon's rate is compared with.
//
//   journal-ceiling --mode sendv|writer --count N --identifier ID --id-prefix P [--size 300] [--bare]
//
// The entries are the ones the daemon writes for the emulator's property-post
// messages (DESIGN.md §6): MESSAGE is the same ~300-byte JSON body, unique per
// message as in the real stream (journald stores equal field values once, so
// repeated bodies would flatter the ceiling), plus PRIORITY, SYSLOG_IDENTIFIER
// and every IOT_* field, including the two the daemon reads its entries back
// by (IOT_RUN, IOT_SEQ: a unique value per entry, which journald stores as a
// data object of its own); --bare leaves those two out, to measure what they
// cost journald. All messages are made before the clock starts.
//   sendv   libsystemd's sd_journal_sendv(), one "NAME=value" iovec per field
//   writer  the daemon's own entry path (build_journal_fields + encode_journal_entry + JournalWriter)
// Prints one JSON object with the sender's view (seconds, rate, CPU per message);
// bench/run.sh reads the journal's view back with journal-audit.
//
// Thread: single-threaded program.
#include <sys/resource.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "iot-amqpd/journal_writer.hpp"
#include "iot-amqpd/topic.hpp"
#include "message_factory.hpp"

namespace {

constexpr const char* kGroup = "bench";
constexpr const char* kGroupId = "BENCHGROUP1";
constexpr const char* kClientId = "bench-host-bench";

struct Options {
    std::string mode;
    std::size_t count = 100000;
    std::size_t size = 300;
    std::string identifier;
    std::string id_prefix;
    bool bare = false;  // without IOT_RUN and IOT_SEQ
};

struct Prepared {
    iot::emu::EmuMessage message;
    std::string generate_time;  // as text, the way the daemon writes it
};

[[noreturn]] void usage() {
    std::fputs(
        "usage: journal-ceiling --mode sendv|writer --count N --identifier ID --id-prefix P [--size B] [--bare]\n",
        stderr);
    std::exit(2);
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "--bare") {
            o.bare = true;
            continue;
        }
        if (i + 1 >= argc) usage();
        const char* v = argv[++i];
        if (a == "--mode") {
            o.mode = v;
        } else if (a == "--count") {
            o.count = std::strtoull(v, nullptr, 10);
        } else if (a == "--size") {
            o.size = std::strtoull(v, nullptr, 10);
        } else if (a == "--identifier") {
            o.identifier = v;
        } else if (a == "--id-prefix") {
            o.id_prefix = v;
        } else {
            usage();
        }
    }
    if ((o.mode != "sendv" && o.mode != "writer") || o.identifier.empty() || o.count == 0) usage();
    return o;
}

std::vector<Prepared> prepare(const Options& o) {
    iot::emu::PublishSpec spec;
    spec.group = kGroupId;
    spec.count = o.count;
    spec.size = o.size;
    spec.id_prefix = o.id_prefix;
    const auto now_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    std::vector<Prepared> out;
    out.reserve(o.count);
    for (std::size_t n = 1; n <= o.count; ++n) {
        Prepared p;
        p.message = iot::emu::make_message(spec, n, now_ms + static_cast<std::int64_t>(n / 100));
        p.generate_time = std::to_string(p.message.generate_time_ms);
        out.push_back(std::move(p));
    }
    return out;
}

// libsystemd's client: one "NAME=value" string per field, reused across messages.
class SendvWriter {
public:
    SendvWriter(const std::string& identifier, bool bare)
        : identifier_("SYSLOG_IDENTIFIER=" + identifier), bare_(bare) {}

    int write(const Prepared& p) {
        const iot::DeviceRef device = iot::device_from_topic(p.message.topic);
        std::size_t n = 0;
        set(n++, "MESSAGE=", p.message.body);
        iov_[n++] = iov("PRIORITY=6");
        iov_[n++] = iov(identifier_);
        iov_[n++] = iov(kGroupField);
        iov_[n++] = iov(kGroupIdField);
        set(n++, "IOT_TOPIC=", p.message.topic);
        set(n++, "IOT_MESSAGE_ID=", p.message.message_id);
        set(n++, "IOT_GENERATE_TIME=", p.generate_time);
        set(n++, "IOT_PRODUCT_KEY=", device.product_key);
        set(n++, "IOT_DEVICE_NAME=", device.device_name);
        iov_[n++] = iov(kClientField);
        iov_[n++] = iov("IOT_PAYLOAD_ENCODING=utf-8");
        if (!bare_) {
            iov_[n++] = iov(kRunField);
            set(n++, "IOT_SEQ=", std::to_string(++sequence_));
        }
        return -sd_journal_sendv(iov_, static_cast<int>(n));
    }

private:
    static constexpr std::size_t kFields = 14;
    static constexpr std::string_view kRunField = "IOT_RUN=0123456789abcdef";
    static constexpr std::string_view kGroupField = "IOT_CONSUMER_GROUP=bench";
    static constexpr std::string_view kGroupIdField = "IOT_CONSUMER_GROUP_ID=BENCHGROUP1";
    static constexpr std::string_view kClientField = "IOT_CLIENT_ID=bench-host-bench";

    static iovec iov(std::string_view text) {
        return iovec{const_cast<char*>(text.data()), text.size()};  // NOLINT: iovec is not const-correct
    }
    void set(std::size_t i, std::string_view name, std::string_view value) {
        buffers_[i].assign(name);
        buffers_[i].append(value);
        iov_[i] = iov(buffers_[i]);
    }

    std::string identifier_;
    bool bare_;
    std::uint64_t sequence_ = 0;
    std::string buffers_[kFields];
    iovec iov_[kFields]{};
};

// The daemon's path from a received message's views to journald's socket
// (JournaldSink's encoding and writer, with its IOT_RUN and IOT_SEQ fields;
// reading the entries back is not part of a ceiling).
class DaemonWriter {
public:
    DaemonWriter(std::string identifier, bool bare) : identifier_(std::move(identifier)), bare_(bare) {}

    int write(const Prepared& p) {
        iot::MessageRecord record;
        record.group = kGroup;
        record.group_id = kGroupId;
        record.client_id = kClientId;
        record.topic = p.message.topic;
        record.message_id = p.message.message_id;
        record.generate_time = p.generate_time;
        const iot::DeviceRef device = iot::device_from_topic(p.message.topic);
        fields_.clear();
        if (!device.product_key.empty()) fields_.push_back({"IOT_PRODUCT_KEY", device.product_key});
        if (!device.device_name.empty()) fields_.push_back({"IOT_DEVICE_NAME", device.device_name});
        record.fields = &fields_;
        record.body = p.message.body;
        iot::build_journal_fields(record, identifier_, buffers_);
        if (!bare_) buffers_.fields.push_back({"IOT_RUN", "0123456789abcdef"});
        entry_.clear();
        iot::encode_journal_entry(buffers_.fields, entry_);
        if (bare_) return writer_.send(entry_);
        sequence_field_ = "IOT_SEQ=" + std::to_string(writer_.next_datagram()) + "\n";
        return writer_.send(entry_, sequence_field_);
    }

private:
    std::string identifier_;
    bool bare_;
    std::string sequence_field_;
    iot::JournalEntryBuffers buffers_;
    std::vector<iot::RecordField> fields_;
    std::string entry_;
    iot::JournalWriter writer_;
};

double cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    const auto s = [](const timeval& t) {
        return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    return s(u.ru_utime) + s(u.ru_stime);
}

template <class Writer>
int run(const Options& o, const std::vector<Prepared>& messages, Writer& writer) {
    const double cpu_start = cpu_seconds();
    const auto start = std::chrono::steady_clock::now();
    std::size_t failures = 0;
    int last_error = 0;
    for (const auto& p : messages) {
        if (const int err = writer.write(p); err != 0) {
            ++failures;
            last_error = err;
        }
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double cpu = cpu_seconds() - cpu_start;
    std::printf(
        "{\"mode\":\"%s\",\"count\":%zu,\"body_bytes\":%zu,\"seconds\":%.6f,\"rate\":%.1f,"
        "\"cpu_us_per_msg\":%.3f,\"failures\":%zu,\"last_error\":\"%s\"}\n",
        o.mode.c_str(), o.count, messages.front().message.body.size(), seconds, static_cast<double>(o.count) / seconds,
        cpu * 1e6 / static_cast<double>(o.count), failures, last_error != 0 ? std::strerror(last_error) : "");
    return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    const Options o = parse(argc, argv);
    const std::vector<Prepared> messages = prepare(o);
    if (o.mode == "sendv") {
        SendvWriter writer(o.identifier, o.bare);
        return run(o, messages, writer);
    }
    DaemonWriter writer(o.identifier, o.bare);
    return run(o, messages, writer);
}
