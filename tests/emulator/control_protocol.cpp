#include "control_protocol.hpp"

#include <chrono>
#include <cmath>
#include <set>
#include <stdexcept>

#include "emulator.hpp"
#include "json.hpp"

namespace iot::emu {
namespace {

std::string error_reply(const std::string& why) {
    return Json(Json::Object{{"ok", Json(false)}, {"error", Json(why)}}).dump();
}

void only_keys(const Command& cmd, std::initializer_list<const char*> allowed) {
    const std::set<std::string> keys(allowed.begin(), allowed.end());
    for (const auto& [key, value] : cmd.args)
        if (keys.count(key) == 0) throw std::invalid_argument(cmd.name + ": unknown argument " + key);
}

const std::string* arg(const Command& cmd, const char* key) {
    const auto it = cmd.args.find(key);
    return it == cmd.args.end() ? nullptr : &it->second;
}

std::size_t to_size(const std::string& key, const std::string& text) {
    std::size_t used = 0;
    unsigned long long value = 0;
    try {
        if (text.empty() || text[0] == '-') throw std::invalid_argument("negative");
        value = std::stoull(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != text.size() || used == 0) throw std::invalid_argument(key + " must be a non-negative integer");
    return static_cast<std::size_t>(value);
}

double to_double(const std::string& key, const std::string& text) {
    std::size_t used = 0;
    double value = 0;
    try {
        value = std::stod(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != text.size() || used == 0 || !std::isfinite(value) || value < 0)
        throw std::invalid_argument(key + " must be a non-negative number");
    return value;
}

// group=<cgid> or queue=<IoTDA queue> as the emulator's group key; "" for neither.
std::string target(const Command& cmd) {
    const auto* group = arg(cmd, "group");
    const auto* queue = arg(cmd, "queue");
    if (group != nullptr && queue != nullptr) throw std::invalid_argument(cmd.name + ": group= or queue=, not both");
    if (queue != nullptr) return iotda_queue_key(*queue);
    return group != nullptr ? *group : "";
}

// seconds=S, or ms=N where the command allows it; exactly one.
std::chrono::milliseconds duration_arg(const Command& cmd, bool allow_ms = false) {
    const std::string* s = arg(cmd, "seconds");
    const std::string* ms = allow_ms ? arg(cmd, "ms") : nullptr;
    if ((s == nullptr) == (ms == nullptr))
        throw std::invalid_argument(cmd.name +
                                    (allow_ms ? ": one of seconds= or ms= is required" : ": seconds= is required"));
    const double seconds = s != nullptr ? to_double("seconds", *s) : to_double("ms", *ms) / 1000.0;
    if (seconds > 86400) throw std::invalid_argument("seconds must be at most 86400");
    return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000.0));
}

bool flag(const Command& cmd, const char* key, bool fallback) {
    const auto* v = arg(cmd, key);
    if (v == nullptr) return fallback;
    if (*v != "0" && *v != "1") throw std::invalid_argument(std::string(key) + " must be 0 or 1");
    return *v == "1";
}

// publish queue=...: IoTDA envelopes; request ids are <id_prefix>-<n>.
PublishSpec iotda_publish_spec(const Command& cmd) {
    only_keys(cmd,
              {"queue", "count", "rate", "devices", "resource", "request_id", "event_time_ms", "id_prefix", "dup"});
    PublishSpec spec;
    spec.group = iotda_queue_key(*arg(cmd, "queue"));
    if (const auto* v = arg(cmd, "count")) spec.count = to_size("count", *v);
    if (const auto* v = arg(cmd, "rate")) spec.rate = to_double("rate", *v);
    if (const auto* v = arg(cmd, "dup")) spec.dup = to_size("dup", *v);
    if (const auto* v = arg(cmd, "devices")) spec.devices = to_size("devices", *v);
    if (const auto* v = arg(cmd, "id_prefix")) spec.id_prefix = *v + "-";
    IotdaSpec iotda;
    if (const auto* v = arg(cmd, "resource")) {
        const auto resource = parse_iotda_resource(*v);
        if (!resource) throw std::invalid_argument("resource must be device.message, device.property or mixed");
        iotda.resource = *resource;
    }
    iotda.request_id = flag(cmd, "request_id", true);
    iotda.event_time_ms = flag(cmd, "event_time_ms", true);
    spec.iotda = iotda;
    return spec;
}

PublishSpec publish_spec(const Command& cmd) {
    if (arg(cmd, "queue") != nullptr) {
        if (arg(cmd, "group") != nullptr) throw std::invalid_argument("publish: group= or queue=, not both");
        return iotda_publish_spec(cmd);
    }
    only_keys(cmd,
              {"group", "count", "rate", "size", "kind", "id_prefix", "dup", "devices", "body", "props", "premade"});
    PublishSpec spec;
    if (const auto* v = arg(cmd, "group")) spec.group = *v;
    if (const auto* v = arg(cmd, "count")) spec.count = to_size("count", *v);
    if (const auto* v = arg(cmd, "rate")) spec.rate = to_double("rate", *v);
    if (const auto* v = arg(cmd, "size")) spec.size = to_size("size", *v);
    if (const auto* v = arg(cmd, "id_prefix")) spec.id_prefix = *v;
    if (const auto* v = arg(cmd, "dup")) spec.dup = to_size("dup", *v);
    if (const auto* v = arg(cmd, "devices")) spec.devices = to_size("devices", *v);
    spec.premade = flag(cmd, "premade", false);
    if (const auto* v = arg(cmd, "kind")) {
        if (*v == "mixed") {
            spec.kind.reset();
        } else {
            spec.kind = parse_topic_kind(*v);
            if (!spec.kind) throw std::invalid_argument("unknown kind " + *v);
        }
    }
    if (const auto* v = arg(cmd, "body")) {
        const auto encoding = parse_body_encoding(*v);
        if (!encoding) throw std::invalid_argument("body must be data, string, value or empty");
        spec.encoding = *encoding;
    }
    if (const auto* v = arg(cmd, "props")) {
        const auto props = parse_props_mode(*v);
        if (!props) throw std::invalid_argument("props must be full, none or long_id");
        spec.props = *props;
    }
    return spec;
}

}  // namespace

std::optional<Command> parse_command(std::string_view line, std::string& error) {
    Command cmd;
    std::size_t i = 0;
    auto skip_space = [&] {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r' || line[i] == '\n')) ++i;
    };
    skip_space();
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r' && line[i] != '\n')
        cmd.name += line[i++];
    if (cmd.name.empty()) {
        error = "empty command";
        return std::nullopt;
    }
    while (true) {
        skip_space();
        if (i >= line.size()) break;
        std::string key;
        while (i < line.size() && line[i] != '=' && line[i] != ' ' && line[i] != '\t') key += line[i++];
        if (i >= line.size() || line[i] != '=' || key.empty()) {
            error = "expected key=value, got " + key;
            return std::nullopt;
        }
        ++i;
        std::string value;
        if (i < line.size() && line[i] == '"') {
            ++i;
            bool closed = false;
            while (i < line.size()) {
                const char c = line[i++];
                if (c == '\\' && i < line.size()) {
                    value += line[i++];
                } else if (c == '"') {
                    closed = true;
                    break;
                } else {
                    value += c;
                }
            }
            if (!closed) {
                error = "unterminated quote in " + key;
                return std::nullopt;
            }
        } else {
            while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r' && line[i] != '\n')
                value += line[i++];
        }
        if (!cmd.args.emplace(key, value).second) {
            error = "argument " + key + " given twice";
            return std::nullopt;
        }
    }
    return cmd;
}

std::string ControlHandler::handle(std::string_view line) {
    std::string error;
    const auto cmd = parse_command(line, error);
    if (!cmd) return error_reply(error);
    try {
        if (cmd->name == "publish") {
            const PublishResult r = emulator_.publish(publish_spec(*cmd));
            const bool queue = is_iotda_queue_key(r.group);
            return Json(Json::Object{{"ok", Json(true)},
                                     {queue ? "queue" : "group", Json(std::string(queue ? iotda_queue_of_key(r.group)
                                                                                        : std::string_view(r.group)))},
                                     {"id_prefix", Json(r.id_prefix)},
                                     {"count", Json(static_cast<std::uint64_t>(r.count))},
                                     {"dup", Json(static_cast<std::uint64_t>(r.dup))},
                                     {"first_id", Json(r.first_id)},
                                     {"last_id", Json(r.last_id)},
                                     {"released_ns", Json(r.released_ns)}})
                .dump();
        }
        if (cmd->name == "drop") {
            only_keys(*cmd, {"group", "queue"});
            const std::size_t n = emulator_.drop_connections(target(*cmd));
            return Json(Json::Object{{"ok", Json(true)}, {"dropped", Json(static_cast<std::uint64_t>(n))}}).dump();
        }
        if (cmd->name == "close") {
            only_keys(*cmd, {"group", "queue", "condition", "description"});
            const auto* condition = arg(*cmd, "condition");
            const auto* description = arg(*cmd, "description");
            const std::size_t n =
                emulator_.close_connections(target(*cmd), condition ? *condition : "amqp:connection:forced",
                                            description ? *description : "closed by the emulator (9602)");
            return Json(Json::Object{{"ok", Json(true)}, {"closed", Json(static_cast<std::uint64_t>(n))}}).dump();
        }
        if (cmd->name == "refuse_auth") {
            only_keys(*cmd, {"seconds"});
            emulator_.refuse_auth(duration_arg(*cmd));
            return Json(Json::Object{{"ok", Json(true)}}).dump();
        }
        if (cmd->name == "stall") {
            only_keys(*cmd, {"seconds", "ms", "group", "queue", "client"});
            const std::string group = target(*cmd);
            const auto* client = arg(*cmd, "client");
            const auto duration = duration_arg(*cmd, true);
            if (group.empty() && client == nullptr) {
                emulator_.stall(duration);
                return Json(Json::Object{{"ok", Json(true)}}).dump();
            }
            const std::size_t n = emulator_.stall_pushes(group, client ? *client : "", duration);
            return Json(Json::Object{{"ok", Json(true)}, {"connections", Json(static_cast<std::uint64_t>(n))}}).dump();
        }
        if (cmd->name == "stats") {
            only_keys(*cmd, {});
            Json::Object reply = emulator_.stats().to_json().as_object();
            reply["ok"] = Json(true);
            return Json(std::move(reply)).dump();
        }
        if (cmd->name == "clients") {
            only_keys(*cmd, {});
            return Json(Json::Object{{"ok", Json(true)}, {"clients", to_json(emulator_.clients())}}).dump();
        }
        if (cmd->name == "quit") {
            only_keys(*cmd, {});
            if (on_quit_) on_quit_();
            return Json(Json::Object{{"ok", Json(true)}}).dump();
        }
        return error_reply("unknown command " + cmd->name);
    } catch (const std::exception& e) {
        return error_reply(e.what());
    }
}

}  // namespace iot::emu
