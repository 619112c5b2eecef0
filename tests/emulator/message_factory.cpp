#include "message_factory.hpp"

#include <array>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <iterator>
#include <stdexcept>

#include "json.hpp"

namespace iot::emu {
namespace {

void append_decimal(std::string& out, std::int64_t value) {
    char digits[24];
    const auto end = std::to_chars(std::begin(digits), std::end(digits), value).ptr;
    out.append(digits, end);
}

struct KindName {
    TopicKind kind;
    const char* name;
};

constexpr std::array<KindName, 21> kKindNames{{
    {TopicKind::status_online, "status_online"},
    {TopicKind::status_offline, "status_offline"},
    {TopicKind::property_post, "property_post"},
    {TopicKind::event_post, "event_post"},
    {TopicKind::property_batch, "property_batch"},
    {TopicKind::event_batch, "event_batch"},
    {TopicKind::downlink_reply, "downlink_reply"},
    {TopicKind::property_history, "property_history"},
    {TopicKind::event_history, "event_history"},
    {TopicKind::lifecycle, "lifecycle"},
    {TopicKind::topo_lifecycle, "topo_lifecycle"},
    {TopicKind::list_found, "list_found"},
    {TopicKind::ota_upgrade, "ota_upgrade"},
    {TopicKind::ota_progress, "ota_progress"},
    {TopicKind::ota_version, "ota_version"},
    {TopicKind::ota_job_status, "ota_job_status"},
    {TopicKind::deviceinfo_update, "deviceinfo_update"},
    {TopicKind::custom_text, "custom_text"},
    {TopicKind::custom_binary, "custom_binary"},
    {TopicKind::cloud_gateway, "cloud_gateway"},
    {TopicKind::garbage_topic, "garbage_topic"},
}};

// Builds one JSON object by appending members in order; open()/close() nest
// an object in place. The emulator makes every message body with it, so it
// appends into one reserved string and formats numbers without allocating.
class JsonText {
public:
    JsonText() {
        text_.reserve(384);
        text_ += '{';
    }
    JsonText& str(const char* key, std::string_view value) {
        member(key);
        append_json_string(text_, value);
        return *this;
    }
    JsonText& num(const char* key, std::int64_t value) {
        member(key);
        append_decimal(text_, value);
        return *this;
    }
    JsonText& raw(const char* key, std::string_view json) {
        member(key);
        text_ += json;
        return *this;
    }
    JsonText& open(const char* key) {
        member(key);
        text_ += '{';
        return *this;
    }
    JsonText& close() {
        text_ += '}';
        return *this;
    }
    [[nodiscard]] std::string done() const {
        std::string out;
        out.reserve(text_.size() + 1);
        out += text_;
        out += '}';
        return out;
    }

private:
    void member(const char* key) {
        if (text_.back() != '{') text_ += ',';
        append_json_string(text_, key);
        text_ += ':';
    }
    std::string text_;
};

std::string format_time(std::int64_t ms, bool iso) {
    const std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[40];
    std::snprintf(buf, sizeof buf, iso ? "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" : "%04d-%02d-%02d %02d:%02d:%02d.%03d",
                  tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms % 1000));
    return buf;
}

std::string iot_id_of(std::string_view device) {
    std::uint64_t h = 1469598103934665603ULL;  // FNV-1a: stable ids that look like the cloud's
    for (const char c : device) {
        h ^= static_cast<unsigned char>(c);
        h *= 1099511628211ULL;
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string id = "q0000000000000000000";  // 'q', 16 hex digits, "000"
    for (std::size_t i = 16; i > 0; --i, h >>= 4) id[i] = kHex[h & 0xf];
    return id;
}

struct Context {
    std::size_t n;
    std::string pk = kProductKey;
    std::string dn;
    std::string iot_id;
    std::int64_t now;
};

std::string property_body(const Context& c) {
    JsonText body;
    body.str("deviceType", "CustomCategory")
        .str("iotId", c.iot_id)
        .str("requestId", std::to_string(c.n))
        .raw("checkFailedData", "{}")
        .str("productKey", c.pk)
        .num("gmtCreate", c.now)
        .str("deviceName", c.dn)
        .open("items")
        .open("Temperature")
        .num("value", 20 + static_cast<std::int64_t>(c.n % 15))
        .num("time", c.now)
        .close()
        .open("Humidity")
        .num("value", 40 + static_cast<std::int64_t>(c.n % 30))
        .num("time", c.now)
        .close()
        .close();
    return body.done();
}

std::string event_body(const Context& c) {
    JsonText value;
    value.num("Level", static_cast<std::int64_t>(c.n % 3)).str("Code", "E" + std::to_string(40 + c.n % 10));
    return JsonText()
        .str("identifier", "Alarm")
        .str("name", "Alarm")
        .str("type", "alert")
        .str("iotId", c.iot_id)
        .str("requestId", std::to_string(c.n))
        .str("productKey", c.pk)
        .str("deviceName", c.dn)
        .num("gmtCreate", c.now)
        .raw("value", value.done())
        .num("time", c.now)
        .done();
}

std::string status_body(const Context& c, bool online, bool gateway) {
    JsonText body;
    if (gateway) body.str("protocol", "SL651");
    body.str("status", online ? "online" : "offline")
        .str("iotId", c.iot_id)
        .str("productKey", c.pk)
        .str("deviceName", c.dn)
        .str("time", format_time(c.now, false))
        .str("utcTime", format_time(c.now, true))
        .str("lastTime", format_time(c.now - 1, false))
        .str("utcLastTime", format_time(c.now - 1, true))
        .str("clientIp", "192.0.2." + std::to_string(1 + c.n % 250));
    if (!online) body.num("offlineReasonCode", 427);
    return body.done();
}

std::string device_list(const Context& c) {
    const std::string sub = "sub-" + std::to_string(c.n % 5 + 1);
    return "[" +
           JsonText().str("iotId", iot_id_of(sub)).str("productKey", "a1SubProduct").str("deviceName", sub).done() +
           "]";
}

struct Made {
    std::string topic;
    std::string body;
    bool json = true;
    bool has_device = true;
};

std::string text_body(std::size_t n, std::size_t size) {
    std::string line = "seq=" + std::to_string(n) + ";temp=21.5;hum=40;state=running;";
    std::string out;
    out.reserve(size);
    while (out.size() < size) out += line;
    out.resize(size);
    return out;
}

std::string binary_body(std::size_t n, std::size_t size) {
    // Starts with bytes that are never valid UTF-8, then a cheap deterministic stream.
    std::string out;
    out.reserve(size);
    std::uint32_t x = static_cast<std::uint32_t>(n) * 2654435761U + 1U;
    const char lead[] = {'\xff', '\xfe', '\xc0', '\x80'};
    for (std::size_t i = 0; i < size; ++i) {
        if (i < sizeof lead) {
            out += lead[i];
            continue;
        }
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out += static_cast<char>(x & 0xFF);
    }
    return out;
}

Made make_body(TopicKind kind, const Context& c, std::size_t size) {
    const std::string base = "/" + c.pk + "/" + c.dn;
    switch (kind) {
        case TopicKind::status_online: return {"/as/mqtt/status/" + c.pk + "/" + c.dn, status_body(c, true, false)};
        case TopicKind::status_offline: return {"/as/mqtt/status/" + c.pk + "/" + c.dn, status_body(c, false, false)};
        case TopicKind::property_post: return {base + "/thing/event/property/post", property_body(c)};
        case TopicKind::event_post: return {base + "/thing/event/Alarm/post", event_body(c)};
        case TopicKind::property_history: return {base + "/thing/event/property/history/post", property_body(c)};
        case TopicKind::event_history: return {base + "/thing/event/Alarm/history/post", event_body(c)};
        case TopicKind::property_batch: {
            JsonText point;
            point.num("value", 20 + static_cast<std::int64_t>(c.n % 15)).num("time", c.now);
            JsonText items;
            items.raw("Temperature", "[" + point.done() + "," + point.done() + "]");
            return {base + "/thing/property/batch/post", JsonText()
                                                             .str("deviceType", "CustomCategory")
                                                             .str("iotId", c.iot_id)
                                                             .str("requestId", std::to_string(c.n))
                                                             .raw("checkFailedData", "{}")
                                                             .str("productKey", c.pk)
                                                             .num("gmtCreate", c.now)
                                                             .str("deviceName", c.dn)
                                                             .raw("items", items.done())
                                                             .done()};
        }
        case TopicKind::event_batch: {
            JsonText occurrence;
            occurrence.raw("value", "{\"Level\":1}").num("time", c.now);
            JsonText events;
            events.raw("Alarm", "[" + occurrence.done() + "]");
            return {base + "/thing/event/batch/post", JsonText()
                                                          .str("iotId", c.iot_id)
                                                          .str("requestId", std::to_string(c.n))
                                                          .str("productKey", c.pk)
                                                          .str("deviceName", c.dn)
                                                          .num("gmtCreate", c.now)
                                                          .raw("events", events.done())
                                                          .done()};
        }
        case TopicKind::downlink_reply:
            return {base + "/thing/downlink/reply/message",
                    JsonText()
                        .num("gmtCreate", c.now)
                        .str("iotId", c.iot_id)
                        .str("productKey", c.pk)
                        .str("deviceName", c.dn)
                        .str("requestId", std::to_string(c.n))
                        .num("code", 200)
                        .str("message", "success")
                        .str("topic", "/sys/" + c.pk + "/" + c.dn + "/thing/service/property/set")
                        .raw("data", "{}")
                        .done()};
        case TopicKind::lifecycle: {
            static const char* const kActions[] = {"create", "enable", "disable", "delete"};
            const char* action = kActions[c.n % 4];
            JsonText body;
            body.str("action", action).str("iotId", c.iot_id).str("productKey", c.pk).str("deviceName", c.dn);
            if (c.n % 4 == 0) body.str("deviceSecret", "emulatedDeviceSecret" + std::to_string(c.n));
            body.num("messageCreateTime", c.now);
            return {base + "/thing/lifecycle", body.done()};
        }
        case TopicKind::topo_lifecycle:
            return {base + "/thing/topo/lifecycle", JsonText()
                                                        .str("action", c.n % 2 == 0 ? "add" : "remove")
                                                        .str("gwIotId", c.iot_id)
                                                        .str("gwProductKey", c.pk)
                                                        .str("gwDeviceName", c.dn)
                                                        .raw("devices", device_list(c))
                                                        .num("messageCreateTime", c.now)
                                                        .done()};
        case TopicKind::list_found:
            return {base + "/thing/list/found", JsonText()
                                                    .str("gwIotId", c.iot_id)
                                                    .str("gwProductKey", c.pk)
                                                    .str("gwDeviceName", c.dn)
                                                    .raw("devices", device_list(c))
                                                    .done()};
        case TopicKind::ota_upgrade:
            return {base + "/ota/upgrade", JsonText()
                                               .str("iotId", c.iot_id)
                                               .str("productKey", c.pk)
                                               .str("deviceName", c.dn)
                                               .str("status", c.n % 5 == 0 ? "FAILED" : "SUCCEEDED")
                                               .num("messageCreateTime", c.now)
                                               .str("srcVersion", "1.0.0")
                                               .str("destVersion", "1.1.0")
                                               .str("desc", "upgrade finished")
                                               .str("jobId", "wahVIzGkCMuAUE2gDERM02" + std::to_string(c.n % 100))
                                               .str("taskId", "y3tOmCDNgpR8F9jnVEzC01" + std::to_string(c.n))
                                               .done()};
        case TopicKind::ota_progress:
            return {base + "/ota/progress/post", JsonText()
                                                     .str("iotId", c.iot_id)
                                                     .str("productKey", c.pk)
                                                     .str("deviceName", c.dn)
                                                     .str("status", "IN_PROGRESS")
                                                     .str("step", std::to_string(c.n % 100))
                                                     .str("desc", "downloading")
                                                     .str("srcVersion", "1.0.0")
                                                     .str("destVersion", "1.1.0")
                                                     .str("moduleName", "default")
                                                     .num("messageCreateTime", c.now)
                                                     .done()};
        case TopicKind::ota_version:
            return {base + "/ota/version/post", JsonText()
                                                    .str("iotId", c.iot_id)
                                                    .str("productKey", c.pk)
                                                    .str("deviceName", c.dn)
                                                    .str("moduleName", "default")
                                                    .str("moduleVersion", "1.1." + std::to_string(c.n % 10))
                                                    .num("messageCreateTime", c.now)
                                                    .done()};
        case TopicKind::ota_job_status: {
            const std::string package_id = "pkg" + std::to_string(c.n % 7);
            const std::string job_id = "job" + std::to_string(c.n % 11);
            Made made{"/" + c.pk + "/" + package_id + "/" + job_id + "/ota/job/status",
                      JsonText()
                          .str("productKey", c.pk)
                          .str("moduleName", "default")
                          .str("packageId", package_id)
                          .str("jobId", job_id)
                          .str("status", "IN_PROGRESS")
                          .num("messageCreateTime", c.now)
                          .done()};
            made.has_device = false;
            return made;
        }
        case TopicKind::deviceinfo_update: {
            JsonText tag;
            tag.str("attrKey", "location").str("attrValue", "hall-" + std::to_string(c.n % 9));
            return {base + "/thing/deviceinfo/update", JsonText()
                                                           .str("iotId", c.iot_id)
                                                           .str("productKey", c.pk)
                                                           .str("deviceName", c.dn)
                                                           .raw("value", "[" + tag.done() + "]")
                                                           .num("messageCreateTime", c.now)
                                                           .done()};
        }
        case TopicKind::custom_text: return {base + "/user/data", text_body(c.n, size), false};
        case TopicKind::custom_binary: return {base + "/user/raw", binary_body(c.n, size), false};
        case TopicKind::cloud_gateway:
            return {"/sys/" + c.pk + "/" + c.dn + "/device/status/notify", status_body(c, c.n % 2 == 1, true)};
        case TopicKind::garbage_topic: {
            Made made{"garbage topic #" + std::to_string(c.n), text_body(c.n, size), false};
            made.has_device = false;
            return made;
        }
    }
    throw std::logic_error("unknown topic kind");
}

// Grows a JSON object to exactly `size` bytes: a trailing "padding" member, or
// spaces before the closing brace when the gap is too small for one.
void pad_json(std::string& body, std::size_t size) {
    static constexpr std::string_view kMember = ",\"padding\":\"\"";
    if (body.size() >= size || body.empty() || body.back() != '}') return;
    body.pop_back();
    const std::size_t gap = size - body.size() - 1;
    if (gap >= kMember.size()) {
        body += ",\"padding\":\"";
        body.append(gap - kMember.size(), 'x');
        body += '"';
    } else {
        body.append(gap, ' ');
    }
    body += '}';
}

}  // namespace

const std::vector<TopicKind>& all_topic_kinds() {
    static const std::vector<TopicKind> kinds = [] {
        std::vector<TopicKind> v;
        for (const auto& k : kKindNames) v.push_back(k.kind);
        return v;
    }();
    return kinds;
}

std::string_view to_string(TopicKind kind) {
    for (const auto& k : kKindNames)
        if (k.kind == kind) return k.name;
    return "unknown";
}

std::optional<TopicKind> parse_topic_kind(std::string_view text) {
    for (const auto& k : kKindNames)
        if (text == k.name) return k.kind;
    return std::nullopt;
}

std::optional<BodyEncoding> parse_body_encoding(std::string_view text) {
    if (text == "data") return BodyEncoding::data;
    if (text == "string") return BodyEncoding::string;
    if (text == "value") return BodyEncoding::value;
    if (text == "empty") return BodyEncoding::empty;
    return std::nullopt;
}

std::optional<PropsMode> parse_props_mode(std::string_view text) {
    if (text == "full") return PropsMode::full;
    if (text == "none") return PropsMode::none;
    if (text == "long_id") return PropsMode::long_id;
    return std::nullopt;
}

std::string validate(const PublishSpec& spec) {
    if (spec.group.empty()) return "group is required";
    if (spec.count == 0) return "count must be at least 1";
    if (spec.count > 100'000'000) return "count must be at most 100000000";
    if (spec.dup > spec.count) return "dup must not exceed count";
    if (spec.rate < 0) return "rate must not be negative";
    if (spec.size > kMaxBodySize) return "size must be at most 10485760";
    if (spec.devices == 0) return "devices must be at least 1";
    if (spec.premade && spec.rate > 0) return "premade needs rate 0 (as fast as credit allows)";
    if (spec.iotda && (spec.encoding != BodyEncoding::data || spec.props != PropsMode::full))
        return "IoTDA messages are JSON data sections: body and props do not apply";
    if (spec.props == PropsMode::long_id) {
        for (const char c : spec.id_prefix)
            if (c < '0' || c > '9') return "props=long_id needs a numeric id_prefix (or none)";
        if (spec.id_prefix.size() + std::to_string(spec.count).size() > 18)
            return "props=long_id: ids would overflow a long";
    }
    return {};
}

namespace {

constexpr std::string_view kIotdaKeyPrefix = "iotda/";

EmuMessage make_iotda_message(const PublishSpec& spec, std::size_t n, std::int64_t now_ms) {
    IotdaSpec iotda = *spec.iotda;
    if (iotda.base_time_ms == 0) iotda.base_time_ms = now_ms;
    EmuMessage msg;
    msg.message_id = spec.id_prefix + std::to_string(n);  // the request_id, also when the body leaves it out
    IotdaEnvelope envelope = make_iotda_envelope(iotda, n, spec.devices, msg.message_id);
    msg.topic = envelope.resource;  // for the event log only: never sent
    msg.generate_time_ms = iotda.base_time_ms + static_cast<std::int64_t>(n) - 1;
    msg.body = std::move(envelope.body);
    msg.encoding = BodyEncoding::data;
    msg.props = PropsMode::none;
    msg.product_key = kIotdaProductId;
    msg.device_name = std::move(envelope.device_id);
    return msg;
}

}  // namespace

std::string iotda_queue_key(std::string_view queue) { return std::string(kIotdaKeyPrefix) + std::string(queue); }

bool is_iotda_queue_key(std::string_view key) { return key.substr(0, kIotdaKeyPrefix.size()) == kIotdaKeyPrefix; }

std::string_view iotda_queue_of_key(std::string_view key) {
    return is_iotda_queue_key(key) ? key.substr(kIotdaKeyPrefix.size()) : std::string_view();
}

EmuMessage make_message(const PublishSpec& spec, std::size_t n, std::int64_t now_ms) {
    if (spec.iotda) return make_iotda_message(spec, n, now_ms);
    const auto& kinds = all_topic_kinds();
    const TopicKind kind = spec.kind ? *spec.kind : kinds[(n - 1) % kinds.size()];
    Context ctx;
    ctx.n = n;
    ctx.dn = "device-" + std::to_string((n - 1) % spec.devices + 1);
    ctx.iot_id = iot_id_of(ctx.dn);
    ctx.now = now_ms;
    Made made = make_body(kind, ctx, spec.size);
    if (made.json) pad_json(made.body, spec.size);

    EmuMessage msg;
    msg.kind = kind;
    msg.topic = std::move(made.topic);
    msg.message_id = spec.id_prefix + std::to_string(n);
    if (spec.props == PropsMode::long_id) msg.numeric_id = std::stoll(msg.message_id);
    msg.generate_time_ms = now_ms;
    msg.encoding = spec.encoding;
    msg.props = spec.props;
    msg.body = spec.encoding == BodyEncoding::empty ? std::string() : std::move(made.body);
    if (kind != TopicKind::garbage_topic) msg.product_key = ctx.pk;
    if (made.has_device) msg.device_name = ctx.dn;
    return msg;
}

Publication::Publication(PublishSpec spec) : spec_(std::move(spec)) {
    const auto problem = validate(spec_);
    if (!problem.empty()) throw std::invalid_argument(problem);
}

std::shared_ptr<const EmuMessage> Publication::make(std::size_t index, std::int64_t now_ms) const {
    const std::size_t n = index < spec_.count ? index + 1 : index - spec_.count + 1;
    return std::make_shared<const EmuMessage>(make_message(spec_, n, now_ms));
}

}  // namespace iot::emu
