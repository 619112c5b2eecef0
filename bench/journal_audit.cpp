// journal-audit: reads back one benchmark run from the journal with sd-journal
// and proves it complete before any rate is reported.
//
//   journal-audit --identifier ID --expect PREFIX:COUNT [--expect ...] [--expect-list FILE]
//                 [--id-field IOT_MESSAGE_ID | --id-in-message] [--timeout-s 120] [--latency]
//
// Every entry with SYSLOG_IDENTIFIER=ID is read; its message id (the field, or
// "message_id=<id>," inside MESSAGE for the vendor sample's printed lines) must
// be PREFIX<n> with 1 <= n <= COUNT, or one of the ids listed in FILE (one a
// line). It waits (sd_journal_wait) until every
// expected id is present or nothing new arrived for --timeout-s, then prints
// one JSON object: found, missing, duplicates, foreign, the first and last
// entry's __REALTIME_TIMESTAMP, the rate between them, and with --latency the
// percentiles of (__REALTIME_TIMESTAMP - IOT_GENERATE_TIME) in microseconds.
// Exit status 0 only when nothing is missing.
//
// Thread: single-threaded program.
#include <systemd/sd-journal.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace {

struct Expectation {
    std::string prefix;
    std::uint64_t count = 0;
    std::vector<std::uint8_t> seen;  // index n-1: how often id PREFIX<n> was read
};

struct Options {
    std::string identifier;
    std::vector<Expectation> expect;
    std::unordered_map<std::string, std::uint8_t> listed;  // --expect-list: exact ids -> times seen
    std::string id_field = "IOT_MESSAGE_ID";
    bool id_in_message = false;
    bool latency = false;
    int timeout_s = 120;
};

struct Tally {
    std::uint64_t entries = 0;
    std::uint64_t found = 0;
    std::uint64_t duplicates = 0;
    std::uint64_t foreign = 0;  // entries whose id matched no expectation
    std::uint64_t first_us = UINT64_MAX;
    std::uint64_t last_us = 0;
    std::vector<std::int64_t> latencies_us;
};

[[noreturn]] void usage() {
    std::fputs(
        "usage: journal-audit --identifier ID --expect PREFIX:COUNT [--expect ...]\n"
        "                     [--expect-list FILE] [--id-field FIELD | --id-in-message] [--timeout-s S]\n"
        "                     [--latency]\n",
        stderr);
    std::exit(2);
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        const auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage();
            return argv[++i];
        };
        if (a == "--identifier") {
            o.identifier = value();
        } else if (a == "--expect") {
            const std::string v = value();
            const auto colon = v.rfind(':');
            if (colon == std::string::npos) usage();
            Expectation e;
            e.prefix = v.substr(0, colon);
            e.count = std::strtoull(v.c_str() + colon + 1, nullptr, 10);
            e.seen.assign(e.count, 0);
            o.expect.push_back(std::move(e));
        } else if (a == "--expect-list") {
            std::ifstream in(value());
            for (std::string line; std::getline(in, line);)
                if (!line.empty()) o.listed.emplace(line, 0);
        } else if (a == "--id-field") {
            o.id_field = value();
        } else if (a == "--id-in-message") {
            o.id_in_message = true;
        } else if (a == "--latency") {
            o.latency = true;
        } else if (a == "--timeout-s") {
            o.timeout_s = std::atoi(value().c_str());
        } else {
            usage();
        }
    }
    if (o.identifier.empty() || (o.expect.empty() && o.listed.empty())) usage();
    return o;
}

// The value of FIELD in the current entry, or empty.
std::string_view field(sd_journal* j, const std::string& name) {
    const void* data = nullptr;
    std::size_t size = 0;
    if (sd_journal_get_data(j, name.c_str(), &data, &size) < 0) return {};
    const std::string_view all(static_cast<const char*>(data), size);
    return all.size() > name.size() ? all.substr(name.size() + 1) : std::string_view{};
}

std::string_view id_of(sd_journal* j, const Options& o) {
    if (!o.id_in_message) return field(j, o.id_field);
    // The vendor sample prints "receive message: message_id=<id>, topic=..., content=...".
    const std::string_view message = field(j, "MESSAGE");
    constexpr std::string_view kKey = "message_id=";
    const auto start = message.find(kKey);
    if (start == std::string_view::npos) return {};
    const auto end = message.find(',', start);
    if (end == std::string_view::npos) return {};
    return message.substr(start + kKey.size(), end - start - kKey.size());
}

// One expected id read: counts it and takes its timestamps.
void hit(sd_journal* j, const Options& o, std::uint8_t& seen, Tally& t) {
    if (seen != 0) {
        ++t.duplicates;
    } else {
        ++t.found;
    }
    if (seen < 255) ++seen;
    std::uint64_t realtime = 0;
    if (sd_journal_get_realtime_usec(j, &realtime) < 0) return;
    t.first_us = std::min(t.first_us, realtime);
    t.last_us = std::max(t.last_us, realtime);
    if (!o.latency) return;
    const std::string generated(field(j, "IOT_GENERATE_TIME"));
    if (generated.empty()) return;
    const long long ms = std::strtoll(generated.c_str(), nullptr, 10);
    t.latencies_us.push_back(static_cast<std::int64_t>(realtime) - ms * 1000);
}

void record(sd_journal* j, Options& o, Tally& t) {
    ++t.entries;
    const std::string_view id = id_of(j, o);
    if (!o.listed.empty()) {
        if (const auto it = o.listed.find(std::string(id)); it != o.listed.end()) return hit(j, o, it->second, t);
    }
    for (auto& e : o.expect) {
        if (id.size() <= e.prefix.size() || id.compare(0, e.prefix.size(), e.prefix) != 0) continue;
        const std::string digits(id.substr(e.prefix.size()));
        char* end = nullptr;
        const unsigned long long n = std::strtoull(digits.c_str(), &end, 10);
        if (*end != '\0' || n == 0 || n > e.count) continue;
        return hit(j, o, e.seen[n - 1], t);
    }
    ++t.foreign;
}

std::int64_t percentile(std::vector<std::int64_t>& v, double p) {
    if (v.empty()) return -1;
    const auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return v[k];
}

}  // namespace

int main(int argc, char** argv) {
    Options o = parse(argc, argv);
    std::uint64_t expected = o.listed.size();
    for (const auto& e : o.expect) expected += e.count;

    sd_journal* j = nullptr;
    if (int r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY); r < 0) {
        std::fprintf(stderr, "journal-audit: sd_journal_open: %s\n", std::strerror(-r));
        return 1;
    }
    const std::string match = "SYSLOG_IDENTIFIER=" + o.identifier;
    sd_journal_add_match(j, match.c_str(), 0);
    sd_journal_set_data_threshold(j, 4096);  // the id sits near the start of a sample line
    sd_journal_seek_head(j);

    Tally t;
    const auto idle_limit = std::chrono::seconds(o.timeout_s);
    auto last_progress = std::chrono::steady_clock::now();
    while (t.found < expected) {
        const int r = sd_journal_next(j);
        if (r < 0) {
            std::fprintf(stderr, "journal-audit: sd_journal_next: %s\n", std::strerror(-r));
            break;
        }
        if (r > 0) {
            record(j, o, t);
            last_progress = std::chrono::steady_clock::now();
            continue;
        }
        if (std::chrono::steady_clock::now() - last_progress > idle_limit) break;
        sd_journal_wait(j, 500'000);
    }
    sd_journal_close(j);

    const double seconds = t.last_us > t.first_us ? static_cast<double>(t.last_us - t.first_us) / 1e6 : 0.0;
    const double rate = seconds > 0 ? static_cast<double>(t.found - 1) / seconds : 0.0;
    std::printf("{\"identifier\":\"%s\",\"expected\":%" PRIu64 ",\"found\":%" PRIu64 ",\"missing\":%" PRIu64
                ",\"duplicates\":%" PRIu64 ",\"foreign\":%" PRIu64 ",\"first_us\":%" PRIu64 ",\"last_us\":%" PRIu64
                ",\"seconds\":%.6f,\"rate\":%.1f",
                o.identifier.c_str(), expected, t.found, expected - t.found, t.duplicates, t.foreign,
                t.first_us == UINT64_MAX ? 0 : t.first_us, t.last_us, seconds, rate);
    if (o.latency) {
        auto& v = t.latencies_us;
        const std::size_t n = v.size();
        const std::int64_t p50 = percentile(v, 0.50);
        const std::int64_t p90 = percentile(v, 0.90);
        const std::int64_t p99 = percentile(v, 0.99);
        const std::int64_t max = v.empty() ? -1 : *std::max_element(v.begin(), v.end());
        std::printf(",\"latency_samples\":%zu,\"p50_us\":%" PRId64 ",\"p90_us\":%" PRId64 ",\"p99_us\":%" PRId64
                    ",\"max_us\":%" PRId64,
                    n, p50, p90, p99, max);
    }
    std::printf("}\n");
    return t.found == expected ? 0 : 1;
}
