// The emulator's own log: one line per event, with the cloud's run-log code when
// there is one (PROTOCOL.md §4.1: 9600 too many connections, 9601 bad heartbeat,
// 9602 server closed the connection, 9650 ack timeout, 9651 released, 9652 NACK),
// so tests can grep "code=9650". Never given a secret. Thread-safe.
#pragma once

#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>

namespace iot::emu {

namespace code {
inline constexpr int none = 0;
inline constexpr int too_many_connections = 9600;
inline constexpr int bad_heartbeat = 9601;
inline constexpr int server_closed = 9602;
inline constexpr int ack_timeout = 9650;
inline constexpr int released = 9651;
inline constexpr int nack = 9652;
}  // namespace code

class EventLog {
public:
    EventLog() = default;  // discards everything
    explicit EventLog(std::FILE* out, bool close_on_destroy = false) : out_(out), owned_(close_on_destroy) {}
    ~EventLog();
    EventLog(const EventLog&) = delete;
    EventLog& operator=(const EventLog&) = delete;

    // "<utc time> event=<event> code=<code> <fields>", flushed per line.
    void write(std::string_view event, int code, std::string_view fields);

private:
    std::mutex mutex_;
    std::FILE* out_ = nullptr;
    bool owned_ = false;
};

}  // namespace iot::emu
