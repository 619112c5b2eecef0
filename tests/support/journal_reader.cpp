#include "journal_reader.hpp"

#include <systemd/sd-journal.h>

#include <cstdlib>
#include <cstring>
#include <functional>
#include <stdexcept>

#include "wait_until.hpp"

namespace iot::test {

namespace {

std::runtime_error journal_error(const char* what, int result) {
    return std::runtime_error(std::string(what) + ": " + std::strerror(-result));
}

// sd-journal ANDs matches on different fields and ORs values of one field:
// exactly JournalFilter's meaning, so no explicit conjunctions are needed.
void add_matches(sd_journal* journal, const JournalFilter& filter) {
    for (const auto& [field, values] : filter) {
        for (const auto& value : values) {
            const std::string match = field + "=" + value;
            const int result = sd_journal_add_match(journal, match.data(), match.size());
            if (result < 0) throw journal_error("sd_journal_add_match", result);
        }
    }
}

JournalEntry current_entry(sd_journal* journal) {
    JournalEntry entry;
    const void* data = nullptr;
    size_t length = 0;
    SD_JOURNAL_FOREACH_DATA(journal, data, length) {
        const auto* text = static_cast<const char*>(data);
        const auto* equals = static_cast<const char*>(std::memchr(text, '=', length));
        if (equals == nullptr) continue;
        const auto name_length = static_cast<std::size_t>(equals - text);
        entry.emplace(std::string(text, name_length), std::string(equals + 1, length - name_length - 1));
    }
    return entry;
}

std::string current_cursor(sd_journal* journal) {
    char* cursor = nullptr;
    if (sd_journal_get_cursor(journal, &cursor) < 0 || cursor == nullptr) return {};
    std::string text(cursor);
    std::free(cursor);
    return text;
}

}  // namespace

JournalFilter by_identifier(const std::string& identifier) { return {{"SYSLOG_IDENTIFIER", {identifier}}}; }

JournalReader::JournalReader(JournalFilter filter) : filter_(std::move(filter)) { open(); }

JournalReader::~JournalReader() { close(); }

void JournalReader::open() {
    // LOCAL_ONLY: this machine's journal, both /run/log/journal (a
    // standalone journald without /var/log/journal) and /var/log/journal.
    int result = sd_journal_open(&journal_, SD_JOURNAL_LOCAL_ONLY);
    if (result < 0) throw journal_error("sd_journal_open", result);
    try {
        // Whole values: by default sd-journal cuts field data at 64 KiB.
        result = sd_journal_set_data_threshold(journal_, 0);
        if (result < 0) throw journal_error("sd_journal_set_data_threshold", result);
        add_matches(journal_, filter_);
        // Asking for the fd turns on inotify, so files created after this
        // (rotation, a restarted journald) are picked up by sd_journal_process().
        result = sd_journal_get_fd(journal_);
        if (result < 0) throw journal_error("sd_journal_get_fd", result);
        result = sd_journal_seek_head(journal_);
        if (result < 0) throw journal_error("sd_journal_seek_head", result);
    } catch (...) {
        close();
        throw;
    }
}

void JournalReader::close() noexcept {
    if (journal_ != nullptr) sd_journal_close(journal_);
    journal_ = nullptr;
}

std::size_t JournalReader::poll() {
    sd_journal_process(journal_);
    std::size_t added = 0;
    for (;;) {
        const int result = sd_journal_next(journal_);
        if (result < 0) throw journal_error("sd_journal_next", result);
        if (result == 0) break;
        auto cursor = current_cursor(journal_);
        if (!seen_cursors_.insert(cursor).second) continue;
        entries_.push_back(current_entry(journal_));
        ++added;
    }
    return added;
}

::testing::AssertionResult JournalReader::wait_for_count(std::size_t count, std::chrono::milliseconds timeout) {
    auto result = wait_until(
        std::to_string(count) + " journal entries",
        [&] {
            poll();
            return entries_.size() >= count;
        },
        timeout, Millis{100});
    if (!result) result << " (found " << entries_.size() << ")";
    return result;
}

::testing::AssertionResult JournalReader::wait_for_entry(const std::string& what,
                                                         const std::function<bool(const JournalEntry&)>& predicate,
                                                         std::chrono::milliseconds timeout) {
    std::size_t checked = 0;
    return wait_until(
        "a journal entry with " + what,
        [&] {
            poll();
            for (; checked < entries_.size(); ++checked) {
                if (predicate(entries_[checked])) return true;
            }
            return false;
        },
        timeout, Millis{100});
}

std::vector<JournalEntry> JournalReader::read_all(const JournalFilter& filter) {
    JournalReader reader(filter);
    reader.poll();
    return reader.entries_;
}

std::string field_or_empty(const JournalEntry& entry, const std::string& field) {
    const auto found = entry.find(field);
    return found == entry.end() ? std::string() : found->second;
}

}  // namespace iot::test
