// Turning a MessageRecord into a journal entry's fields or a JSON line
// (DESIGN.md §6). Pure functions: the sinks do the I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "iot-amqpd/message_record.hpp"

namespace iot {

struct JournalField {
    std::string_view name;
    std::string_view value;
};

// Reusable buffers, so the hot path allocates nothing once they have grown.
struct JournalEntryBuffers {
    std::vector<JournalField> fields;
    std::string encoded_body;  // "base64:..." when the body is not UTF-8
};

// Fills buffers.fields with MESSAGE, PRIORITY, SYSLOG_IDENTIFIER and the IOT_* fields.
void build_journal_fields(const MessageRecord& record, std::string_view syslog_identifier,
                          JournalEntryBuffers& buffers);

// Writes one JSON object and a newline to `out` (cleared first).
void build_json_line(const MessageRecord& record, std::string& out);

}  // namespace iot
