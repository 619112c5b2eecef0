#include "iot-amqpd/journal_check.hpp"

#include <unistd.h>

#include <thread>

#include "iot-amqpd/journald_sink.hpp"

namespace iot {
namespace {

constexpr auto kCheckPoll = std::chrono::milliseconds(2);
constexpr auto kAbsentAfter = std::chrono::seconds(1);

std::string user_text() { return "uid " + std::to_string(::getuid()); }

}  // namespace

// The check entry goes through a JournaldSink like every message, so it
// proves the very path messages take; it is one line of the daemon's own log.
ReadBackCheck check_journal_read_back(std::chrono::milliseconds timeout) {
    using Clock = std::chrono::steady_clock;
    const auto started = Clock::now();
    const auto deadline = started + timeout;
    ReadBackCheck result;
    JournaldSink sink("iot-amqpd");
    std::vector<JournalField> fields;
    bool written = false;
    while (Clock::now() < deadline) {
        // A journald that refuses entries for a while is absent, not slow: no verdict, no long wait.
        if (!written && Clock::now() - started >= kAbsentAfter) break;
        if (!written) {
            fields = {{"MESSAGE",
                       "journal read-back check: iot-amqpd acknowledges a message only once its entry is read back "
                       "from the journal"},
                      {"PRIORITY", "6"},
                      {"SYSLOG_IDENTIFIER", "iot-amqpd"},
                      {"IOT_EVENT", "journal_check"}};
            written = sink.write_fields(fields) == 0;
        }
        if (written) sink.poll();
        if (written && sink.durable_through() >= 1) {
            result.verdict = ReadBackCheck::Verdict::works;
            break;
        }
        if (written && sink.dropped() > 0) {
            const JournalAccess access = JournalFollower::access();
            if (access.unreadable_file) {
                result.verdict = ReadBackCheck::Verdict::unreadable;
                result.explanation = "cannot read the journal back as " + user_text() + " (" + access.unreadable_path +
                                     "), so no message could ever be acknowledged: run the daemon with the group "
                                     "systemd-journal (the packaged unit has SupplementaryGroups=systemd-journal)";
            } else if (!access.any_file) {
                result.verdict = ReadBackCheck::Verdict::no_journal;
                result.explanation =
                    "journald keeps no journal (no file under /run/log/journal or /var/log/journal; Storage=none?), "
                    "so no message could ever be acknowledged: set Storage=auto, volatile or persistent in "
                    "journald.conf, or use output type stdout";
            } else {
                result.verdict = ReadBackCheck::Verdict::not_storing;
                result.explanation =
                    "journald took a check entry and did not store it (file system full? MaxLevelStore=? this unit's "
                    "LogLevelMax=?): messages will be held, not acknowledged, until it stores again";
            }
            break;
        }
        std::this_thread::sleep_for(kCheckPoll);  // polling the socket queue and the journal; bounded by deadline
    }
    if (result.verdict == ReadBackCheck::Verdict::no_journald)
        result.explanation = written ? "journald took a check entry but did not finish with it in time (stopped?)"
                                     : "journald is not running (its socket refuses entries)";
    result.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
    return result;
}

}  // namespace iot
