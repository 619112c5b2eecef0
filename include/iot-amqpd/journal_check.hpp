// The start-up check of "acknowledged means stored": one entry written to
// journald and looked for in the journal, so a journal the daemon can never
// read back (Storage=none, or files this user may not read) is one clear
// error at start instead of a daemon that holds every message for ever.
//
// Thread: the caller's (main, before the groups start).
#pragma once

#include <chrono>
#include <string>

namespace iot {

struct ReadBackCheck {
    enum class Verdict {
        works,        // the entry was read back
        no_journald,  // journald did not take or finish with the entry in time: no verdict
        not_storing,  // journald finished with it but stored nothing, though journal files are readable
        unreadable,   // journal files exist that this process may not read
        no_journal,   // journald finished with it and keeps no journal file at all (Storage=none)
    };
    Verdict verdict = Verdict::no_journald;
    std::string explanation;  // for the operator: what was seen and what to do
    std::chrono::milliseconds elapsed{0};
};

// Throws std::runtime_error when the journal cannot be opened at all.
[[nodiscard]] ReadBackCheck check_journal_read_back(std::chrono::milliseconds timeout);

}  // namespace iot
