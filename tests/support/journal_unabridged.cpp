#include "journal_unabridged.hpp"

#include <systemd/sd-journal.h>

#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>

namespace iot::test {

namespace {

struct JournalCloser {
    void operator()(sd_journal* journal) const noexcept { sd_journal_close(journal); }
};

void check(int result, const char* what) {
    if (result < 0) throw std::runtime_error(std::string(what) + ": " + std::strerror(-result));
}

}  // namespace

std::vector<JournalEntry> read_all_unabridged(const JournalFilter& filter) {
    sd_journal* raw = nullptr;
    check(sd_journal_open(&raw, SD_JOURNAL_LOCAL_ONLY), "sd_journal_open");
    const std::unique_ptr<sd_journal, JournalCloser> journal(raw);
    check(sd_journal_set_data_threshold(journal.get(), 0), "sd_journal_set_data_threshold");
    for (const auto& [field, values] : filter) {
        for (const auto& value : values) {
            const std::string match = field + "=" + value;
            check(sd_journal_add_match(journal.get(), match.data(), match.size()), "sd_journal_add_match");
        }
    }
    check(sd_journal_seek_head(journal.get()), "sd_journal_seek_head");
    std::vector<JournalEntry> entries;
    for (;;) {
        const int result = sd_journal_next(journal.get());
        check(result, "sd_journal_next");
        if (result == 0) break;
        JournalEntry entry;
        const void* data = nullptr;
        size_t length = 0;
        SD_JOURNAL_FOREACH_DATA(journal.get(), data, length) {
            const auto* text = static_cast<const char*>(data);
            const auto* equals = static_cast<const char*>(std::memchr(text, '=', length));
            if (equals == nullptr) continue;
            const auto name_length = static_cast<std::size_t>(equals - text);
            entry.emplace(std::string(text, name_length), std::string(equals + 1, length - name_length - 1));
        }
        entries.push_back(std::move(entry));
    }
    return entries;
}

}  // namespace iot::test
