// Reads journal entries with every field whole. sd-journal truncates field
// values to 64 KiB by default (its data threshold); a test that checks a
// multi-MiB message body must lift that limit.
//
// Stateless; call from any thread (each call opens its own sd_journal).
#pragma once

#include <vector>

#include "journal_reader.hpp"

namespace iot::test {

// Like JournalReader::read_all, with no data threshold. Throws std::runtime_error on failure.
[[nodiscard]] std::vector<JournalEntry> read_all_unabridged(const JournalFilter& filter);

}  // namespace iot::test
