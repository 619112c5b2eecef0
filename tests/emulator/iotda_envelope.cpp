#include "iotda_envelope.hpp"

#include <cstdio>
#include <ctime>

#include "json.hpp"

namespace iot::emu {
namespace {

std::tm utc(std::int64_t ms) {
    const std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    return tm;
}

void member(std::string& out, const char* key, std::string_view value) {
    if (out.back() != '{') out += ',';
    append_json_string(out, key);
    out += ':';
    append_json_string(out, value);
}

void raw_member(std::string& out, const char* key, std::string_view json) {
    if (out.back() != '{') out += ',';
    append_json_string(out, key);
    out += ':';
    out += json;
}

}  // namespace

std::optional<IotdaResource> parse_iotda_resource(std::string_view text) {
    if (text == "device.message") return IotdaResource::message;
    if (text == "device.property") return IotdaResource::property;
    if (text == "mixed") return IotdaResource::mixed;
    return std::nullopt;
}

std::string iotda_event_time(std::int64_t ms) {
    const std::tm tm = utc(ms);
    char buf[96];  // room for any int the compiler imagines in the fields
    std::snprintf(buf, sizeof buf, "%04d%02d%02dT%02d%02d%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buf;
}

std::string iotda_event_time_ms(std::int64_t ms) {
    const std::tm tm = utc(ms);
    char buf[112];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
    return buf;
}

IotdaEnvelope make_iotda_envelope(const IotdaSpec& spec, std::size_t n, std::size_t devices,
                                  const std::string& request_id) {
    const bool property =
        spec.resource == IotdaResource::property || (spec.resource == IotdaResource::mixed && n % 2 == 0);
    const std::int64_t when = spec.base_time_ms + static_cast<std::int64_t>(n) - 1;
    const std::string node = "node-" + std::to_string((n - 1) % (devices == 0 ? 1 : devices) + 1);
    IotdaEnvelope out;
    out.device_id = std::string(kIotdaProductId) + "_" + node;
    out.resource = property ? "device.property" : "device.message";

    std::string header = "{";
    member(header, "app_id", kIotdaAppId);
    member(header, "device_id", out.device_id);
    member(header, "node_id", node);
    member(header, "product_id", kIotdaProductId);
    member(header, "gateway_id", out.device_id);
    raw_member(header, "tags", "[]");
    header += '}';

    std::string body = "{";
    if (property) {
        std::string service = "{";
        member(service, "service_id", "environment");
        raw_member(service, "properties",
                   "{\"temperature\":" + std::to_string(20 + n % 10) + ",\"sequence\":" + std::to_string(n) + "}");
        member(service, "event_time", iotda_event_time(when));
        service += '}';
        raw_member(body, "services", "[" + service + "]");
    } else {
        member(body, "content", "message " + std::to_string(n) + " from " + node);
    }
    body += '}';

    std::string& text = out.body;
    text = "{";
    member(text, "resource", out.resource);
    member(text, "event", "report");
    member(text, "event_time", iotda_event_time(when));
    if (spec.event_time_ms) member(text, "event_time_ms", iotda_event_time_ms(when));
    if (spec.request_id) member(text, "request_id", request_id);
    raw_member(text, "notify_data", "{\"header\":" + header + ",\"body\":" + body + "}");
    text += '}';
    return out;
}

}  // namespace iot::emu
