// The daemon's own log lines (not the device messages): spdlog, sent to the
// journal with a priority and stable IOT_EVENT= / IOT_CONSUMER_GROUP= fields
// when running under systemd, to stderr otherwise. Each event also carries
// its MESSAGE_ID= (include/iot-amqpd/message_ids.hpp) for the journal catalog.
//
// Thread: safe from any thread.
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

#include "iot-amqpd/config.hpp"

namespace iot {

enum class LogTarget { automatic, journal, stderr_stream };

struct LogContext {
    std::string_view event;  // stable machine-readable name: connected, auth_failed, reloaded, ...
    std::string_view group;  // consumer group name, "" for process-wide events
};

namespace logging {

void init(LogTarget target, LogLevel level);
void set_level(LogLevel level);
[[nodiscard]] spdlog::level::level_enum to_spdlog(LogLevel level);

// The context of the line being logged on this thread, for the sinks.
[[nodiscard]] const LogContext* current_context();

class ScopedContext {
public:
    explicit ScopedContext(const LogContext& ctx);
    ~ScopedContext();
    ScopedContext(const ScopedContext&) = delete;
    ScopedContext& operator=(const ScopedContext&) = delete;

private:
    const LogContext* previous_;
};

}  // namespace logging

template <typename... Args>
void log_event(spdlog::level::level_enum level, const LogContext& ctx, fmt::format_string<Args...> format,
               Args&&... args) {
    if (!spdlog::should_log(level)) return;
    logging::ScopedContext scope(ctx);
    spdlog::log(level, format, std::forward<Args>(args)...);
}

}  // namespace iot
