#include "iot-amqpd/logging.hpp"

#include <fmt/chrono.h>
#include <spdlog/sinks/base_sink.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

#include "iot-amqpd/message_ids.hpp"

namespace iot::logging {
namespace {

thread_local const LogContext* t_context = nullptr;

int syslog_priority(spdlog::level::level_enum level) {
    switch (level) {
        case spdlog::level::trace:
        case spdlog::level::debug: return 7;
        case spdlog::level::info: return 6;
        case spdlog::level::warn: return 4;
        case spdlog::level::err: return 3;
        case spdlog::level::critical: return 2;
        default: return 6;
    }
}

// Sends each line as a journal entry carrying the thread's LogContext fields.
class JournalLogSink final : public spdlog::sinks::base_sink<std::mutex> {
protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        const LogContext* ctx = current_context();
        const std::string text(msg.payload.data(), msg.payload.size());
        const std::string event = ctx != nullptr ? std::string(ctx->event) : std::string();
        const std::string group = ctx != nullptr ? std::string(ctx->group) : std::string();
        // MESSAGE_ID= ties the line to its catalog entry (journalctl -x); an
        // event without one gets no empty field, which would match nothing.
        const std::string message_id(message_id_for(event));
        if (message_id.empty()) {
            sd_journal_send("MESSAGE=%s", text.c_str(), "PRIORITY=%d", syslog_priority(msg.level),
                            "SYSLOG_IDENTIFIER=iot-amqpd", "IOT_EVENT=%s", event.c_str(), "IOT_CONSUMER_GROUP=%s",
                            group.c_str(), nullptr);
        } else {
            sd_journal_send("MESSAGE=%s", text.c_str(), "MESSAGE_ID=%s", message_id.c_str(), "PRIORITY=%d",
                            syslog_priority(msg.level), "SYSLOG_IDENTIFIER=iot-amqpd", "IOT_EVENT=%s", event.c_str(),
                            "IOT_CONSUMER_GROUP=%s", group.c_str(), nullptr);
        }
    }
    void flush_() override {}
};

// "2026-11-26 08:00:00.123 warn  [factory-a] connection lost (event=disconnected)"
class StderrLogSink final : public spdlog::sinks::base_sink<std::mutex> {
protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        const LogContext* ctx = current_context();
        std::string line;
        fmt::format_to(std::back_inserter(line), "{:%Y-%m-%d %H:%M:%S} {:<5} ",
                       fmt::localtime(std::chrono::system_clock::to_time_t(msg.time)),
                       spdlog::level::to_string_view(msg.level));
        if (ctx != nullptr && !ctx->group.empty()) fmt::format_to(std::back_inserter(line), "[{}] ", ctx->group);
        line.append(msg.payload.data(), msg.payload.size());
        if (ctx != nullptr && !ctx->event.empty()) fmt::format_to(std::back_inserter(line), " (event={})", ctx->event);
        line += '\n';
        (void)std::fwrite(line.data(), 1, line.size(), stderr);
    }
    void flush_() override { (void)std::fflush(stderr); }
};

// systemd sets JOURNAL_STREAM to "dev:ino" of the journal stream it connected
// stderr to; only then do structured entries reach the same place.
bool stderr_is_journal() {
    const char* stream = std::getenv("JOURNAL_STREAM");  // NOLINT(concurrency-mt-unsafe): read at start-up only
    if (stream == nullptr) return false;
    char* end = nullptr;
    errno = 0;
    const unsigned long long dev = std::strtoull(stream, &end, 10);
    if (errno != 0 || end == stream || *end != ':') return false;
    const char* ino_text = end + 1;
    const unsigned long long ino = std::strtoull(ino_text, &end, 10);
    if (errno != 0 || end == ino_text || *end != '\0') return false;
    struct stat st {};
    if (::fstat(2, &st) != 0) return false;
    return st.st_dev == dev && st.st_ino == ino;
}

}  // namespace

const LogContext* current_context() { return t_context; }

ScopedContext::ScopedContext(const LogContext& ctx) : previous_(t_context) { t_context = &ctx; }
ScopedContext::~ScopedContext() { t_context = previous_; }

spdlog::level::level_enum to_spdlog(LogLevel level) {
    switch (level) {
        case LogLevel::trace: return spdlog::level::trace;
        case LogLevel::debug: return spdlog::level::debug;
        case LogLevel::info: return spdlog::level::info;
        case LogLevel::warn: return spdlog::level::warn;
        case LogLevel::error: return spdlog::level::err;
    }
    return spdlog::level::info;
}

void init(LogTarget target, LogLevel level) {
    const bool journal = target == LogTarget::journal || (target == LogTarget::automatic && stderr_is_journal());
    spdlog::sink_ptr sink;
    if (journal) {
        sink = std::make_shared<JournalLogSink>();
    } else {
        sink = std::make_shared<StderrLogSink>();
    }
    auto logger = std::make_shared<spdlog::logger>("iot-amqpd", std::move(sink));
    logger->flush_on(spdlog::level::trace);
    spdlog::set_default_logger(std::move(logger));
    set_level(level);
}

void set_level(LogLevel level) { spdlog::set_level(to_spdlog(level)); }

}  // namespace iot::logging
