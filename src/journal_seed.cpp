#include "iot-amqpd/journal_seed.hpp"

#include <systemd/sd-journal.h>

#include <string>
#include <vector>

#include "iot-amqpd/health.hpp"
#include "iot-amqpd/journal_follower.hpp"

namespace iot {
namespace {

constexpr std::string_view kIdField = "IOT_MESSAGE_ID=";

struct JournalHandle {
    sd_journal* j = nullptr;
    ~JournalHandle() {
        if (j != nullptr) sd_journal_close(j);
    }
};

int add_match(sd_journal* j, std::string_view field, std::string_view value) {
    std::string match(field);
    match += '=';
    match += value;
    return sd_journal_add_match(j, match.data(), match.size());
}

// Opens the journal with matches for the entries this daemon wrote for `group`.
int open_group_entries(JournalHandle& handle, std::string_view syslog_identifier, std::string_view group) {
    int r = open_journal_serialized(&handle.j, SD_JOURNAL_LOCAL_ONLY);
    if (r >= 0) r = add_match(handle.j, "SYSLOG_IDENTIFIER", syslog_identifier);
    if (r >= 0) r = add_match(handle.j, "IOT_CONSUMER_GROUP", group);
    return r;
}

std::string_view message_id_of(sd_journal* j) {
    const void* data = nullptr;
    std::size_t length = 0;
    if (sd_journal_get_data(j, "IOT_MESSAGE_ID", &data, &length) < 0) return {};
    const std::string_view field(static_cast<const char*>(data), length);
    return field.size() > kIdField.size() ? field.substr(kIdField.size()) : std::string_view();
}

}  // namespace

SeedResult seed_from_journal(std::string_view syslog_identifier, std::string_view group, DedupWindow& window) {
    SeedResult result;
    const std::int64_t started = monotonic_ms();
    JournalHandle handle;
    int r = open_group_entries(handle, syslog_identifier, group);
    if (r >= 0) r = sd_journal_seek_tail(handle.j);
    if (r < 0) {
        result.error = -r;
        return result;
    }
    const auto oldest = static_cast<std::uint64_t>(
        wall_clock_ms() * 1000 - std::chrono::duration_cast<std::chrono::microseconds>(kSeedMaxAge).count());
    // Newest first; remembered oldest first so the window evicts in the right order.
    std::vector<std::string> newest_first;
    while (newest_first.size() < window.capacity() && sd_journal_previous(handle.j) > 0) {
        std::uint64_t when = 0;
        if (sd_journal_get_realtime_usec(handle.j, &when) >= 0 && when < oldest) break;
        if (const std::string_view id = message_id_of(handle.j); !id.empty()) newest_first.emplace_back(id);
    }
    for (auto it = newest_first.rbegin(); it != newest_first.rend(); ++it) window.remember(*it);
    result.ids = newest_first.size();
    result.elapsed = std::chrono::milliseconds(monotonic_ms() - started);
    return result;
}

}  // namespace iot
