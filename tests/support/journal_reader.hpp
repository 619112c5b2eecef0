// Reads the local journal back with sd-journal: entries matching a filter,
// each as a map field -> value (values are binary-safe std::strings).
//
// Owned by one thread (sd_journal objects are not thread-safe).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

struct sd_journal;

namespace iot::test {

using JournalEntry = std::map<std::string, std::string>;

// Field -> accepted values. Values of one field are ORed, fields are ANDed
// (sd-journal's own match semantics). An empty filter matches everything.
using JournalFilter = std::map<std::string, std::set<std::string>>;

// Convenience: {SYSLOG_IDENTIFIER: {identifier}}.
[[nodiscard]] JournalFilter by_identifier(const std::string& identifier);

class JournalReader {
public:
    // Opens the local journal (system and runtime files); throws std::runtime_error on failure.
    explicit JournalReader(JournalFilter filter);
    ~JournalReader();

    JournalReader(const JournalReader&) = delete;
    JournalReader& operator=(const JournalReader&) = delete;
    JournalReader(JournalReader&&) = delete;
    JournalReader& operator=(JournalReader&&) = delete;

    // Reads entries that arrived since the last call and appends them to
    // entries(); returns how many were new. Entries are keyed by their
    // cursor, so a reader artefact cannot count one entry twice.
    std::size_t poll();

    // Everything read so far, in journal order.
    [[nodiscard]] const std::vector<JournalEntry>& entries() const noexcept { return entries_; }

    // poll()s until at least `count` entries are known or `timeout` passes.
    // The failure message says how many there were.
    [[nodiscard]] ::testing::AssertionResult wait_for_count(std::size_t count, std::chrono::milliseconds timeout);

    // poll()s until an entry satisfying `predicate` is known.
    [[nodiscard]] ::testing::AssertionResult wait_for_entry(const std::string& what,
                                                            const std::function<bool(const JournalEntry&)>& predicate,
                                                            std::chrono::milliseconds timeout);

    // A fresh reader's view from the head of the journal: the honest final
    // count, independent of whatever poll() saw on the way.
    [[nodiscard]] static std::vector<JournalEntry> read_all(const JournalFilter& filter);

private:
    void open();
    void close() noexcept;

    JournalFilter filter_;
    sd_journal* journal_ = nullptr;
    std::set<std::string> seen_cursors_;
    std::vector<JournalEntry> entries_;
};

// The value of `field`, or "" when the entry does not have it.
[[nodiscard]] std::string field_or_empty(const JournalEntry& entry, const std::string& field);

}  // namespace iot::test
