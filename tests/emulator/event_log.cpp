#include "event_log.hpp"

#include <chrono>
#include <ctime>

namespace iot::emu {

EventLog::~EventLog() {
    if (owned_ && out_ != nullptr) std::fclose(out_);
}

void EventLog::write(std::string_view event, int event_code, std::string_view fields) {
    if (out_ == nullptr) return;
    const auto now = std::chrono::system_clock::now();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    const std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char stamp[40];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    std::lock_guard lock(mutex_);
    std::fprintf(out_, "%s.%03dZ event=%.*s code=%d %.*s\n", stamp, static_cast<int>(ms % 1000),
                 static_cast<int>(event.size()), event.data(), event_code, static_cast<int>(fields.size()),
                 fields.data());
    std::fflush(out_);
}

}  // namespace iot::emu
