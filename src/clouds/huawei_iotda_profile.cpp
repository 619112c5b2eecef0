// `cloud: huawei-iotda`: Huawei Cloud IoTDA AMQP push (clouds/huawei-iotda.md
// in the design notes). The user name carries the access key and a fresh
// millisecond timestamp, the password is the access code itself; the link's
// source is a queue; the Open hostname must be "default" while TLS verifies
// the endpoint's real host name; each message body is a JSON envelope whose
// fields become journal fields.
#include <openssl/sha.h>

#include <nlohmann/json.hpp>

#include <array>
#include <charconv>
#include <ctime>

#include "iot-amqpd/amqp_decoding.hpp"
#include "iot-amqpd/cloud_profile.hpp"

namespace iot {

const CloudProfile& huawei_iotda_profile();

namespace {

using namespace std::chrono_literals;
using namespace cfg;

const SecretKeys kCodeKeys{"access_code", "access_code_file", "access_code_credential", "the access code"};
constexpr std::string_view kDefaultQueue = "DefaultQueue";

std::string access_key_problem(std::string_view key) {
    if (key.empty()) return "must not be empty";
    return forbidden_separator(key);
}

// 8..128 letters, digits, '_', '-', '.' and ':' (the queue API's rule).
std::string queue_problem(std::string_view queue) {
    if (queue.size() < 8 || queue.size() > 128)
        return quoted(queue) + " must be 8 to 128 characters long (IoTDA's queue names)";
    for (const char c : queue)
        if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '_' && c != '-' && c != '.' && c != ':')
            return quoted(queue) + " may contain only letters, digits, '_', '-', '.' and ':'";
    return {};
}

struct Group {
    std::string access_key;
    std::shared_ptr<const Secret> access_code;
    std::string instance_id;
    std::string queue{kDefaultQueue};
};

struct Layer final : ProfileLayer {
    Field<std::string> access_key;
    Field<SecretSetting> access_code;
    Field<std::string> instance_id;
    Field<std::string> queue;
};

// Reads `width` digits at `at` (moving past them); false when they are not all digits.
bool digits(std::string_view text, std::size_t& at, std::size_t width, int& out) {
    if (at + width > text.size()) return false;
    const char* first = text.data() + at;
    const auto result = std::from_chars(first, first + width, out);
    if (result.ec != std::errc() || result.ptr != first + width) return false;
    at += width;
    return true;
}

bool literal(std::string_view text, std::size_t& at, char c) {
    if (at >= text.size() || text[at] != c) return false;
    ++at;
    return true;
}

// "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'" (event_time_ms) or "yyyyMMdd'T'HHmmss'Z'" (event_time) as epoch ms.
std::optional<std::int64_t> envelope_time_ms(std::string_view text) {
    const bool with_ms = text.find('-') != std::string_view::npos;
    std::tm tm{};
    int millis = 0;
    std::size_t at = 0;
    const auto separator = [&](char c) { return !with_ms || literal(text, at, c); };
    const bool parsed = digits(text, at, 4, tm.tm_year) && separator('-') && digits(text, at, 2, tm.tm_mon) &&
                        separator('-') && digits(text, at, 2, tm.tm_mday) && literal(text, at, 'T') &&
                        digits(text, at, 2, tm.tm_hour) && separator(':') && digits(text, at, 2, tm.tm_min) &&
                        separator(':') && digits(text, at, 2, tm.tm_sec) &&
                        (!with_ms || (literal(text, at, '.') && digits(text, at, 3, millis))) &&
                        literal(text, at, 'Z') && at == text.size();
    if (!parsed) return std::nullopt;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    // Before 1970 is no device's clock, and -1 is timegm()'s error: not a time.
    const std::time_t seconds = ::timegm(&tm);
    if (seconds < 0) return std::nullopt;
    return std::int64_t{seconds} * 1000 + millis;
}

// The documented fallback message id when the envelope has no request_id:
// "sha256:" and the first 16 bytes of the body's SHA-256 in hex. A
// redelivery has the same body, so it is found by the dedup window; two
// distinct reports with byte-identical bodies (same device, same event_time,
// same content) are indistinguishable and kept once.
std::string body_hash_id(std::string_view body) {
    std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
    SHA256(reinterpret_cast<const unsigned char*>(body.data()), body.size(), digest.data());
    static constexpr char kHex[] = "0123456789abcdef";
    std::string id = "sha256:";
    for (std::size_t i = 0; i < 16; ++i) {
        id += kHex[digest[i] >> 4U];
        id += kHex[digest[i] & 0xFU];
    }
    return id;
}

class Settings final : public CloudSettings {
public:
    explicit Settings(Group group) : group_(std::move(group)) {}

    [[nodiscard]] const CloudProfile& profile() const override { return huawei_iotda_profile(); }
    [[nodiscard]] Credentials credentials(const std::string& /*client_id*/, std::int64_t now_wall_ms) const override {
        Credentials creds;
        creds.user_name = "accessKey=" + group_.access_key + "|timestamp=" + std::to_string(now_wall_ms);
        if (!group_.instance_id.empty()) creds.user_name += "|instanceId=" + group_.instance_id;
        creds.password = Secret(std::string(group_.access_code->reveal()));
        return creds;
    }
    // IoTDA supports only the virtual host "default"; TLS still checks the endpoint's name.
    [[nodiscard]] std::string open_hostname(const std::string& /*endpoint_host*/) const override { return "default"; }
    [[nodiscard]] std::string source_address() const override { return group_.queue; }
    [[nodiscard]] std::string identity() const override {
        return "access key " + mask_access_key_id(group_.access_key) + ", queue " + group_.queue;
    }
    void describe(const proton::message& message, MessageScratch& scratch, MessageRecord& record) const override;

private:
    Group group_;
};

void Settings::describe(const proton::message& message, MessageScratch& scratch, MessageRecord& record) const {
    record.topic.reset();
    record.message_id.reset();
    record.generate_time.reset();
    record.body = body_bytes(message.body(), scratch.body);
    scratch.fields.clear();
    record.fields = &scratch.fields;

    // Slots: 0 resource, 1 event, 2 device_id, 3 product_id, then the time.
    constexpr std::array<std::string_view, 4> kNames{"IOT_RESOURCE", "IOT_EVENT_TYPE", "IOT_DEVICE_ID",
                                                     "IOT_PRODUCT_ID"};
    if (scratch.texts.size() < kNames.size()) scratch.texts.resize(kNames.size());
    const nlohmann::json envelope = nlohmann::json::parse(record.body.begin(), record.body.end(), nullptr, false);
    const auto text_at = [](const nlohmann::json& object, const char* key) -> const std::string* {
        if (!object.is_object()) return nullptr;
        const auto found = object.find(key);
        return found != object.end() && found->is_string() ? &found->get_ref<const std::string&>() : nullptr;
    };
    if (envelope.is_object()) {
        const nlohmann::json* header = nullptr;
        if (const auto data = envelope.find("notify_data"); data != envelope.end() && data->is_object())
            if (const auto found = data->find("header"); found != data->end()) header = &*found;
        const std::array<const std::string*, 4> values{text_at(envelope, "resource"), text_at(envelope, "event"),
                                                       header != nullptr ? text_at(*header, "device_id") : nullptr,
                                                       header != nullptr ? text_at(*header, "product_id") : nullptr};
        for (std::size_t i = 0; i < kNames.size(); ++i) {
            if (values[i] == nullptr || values[i]->empty()) continue;
            scratch.texts[i] = *values[i];
            scratch.fields.push_back({kNames[i], scratch.texts[i]});
        }
        if (const std::string* id = text_at(envelope, "request_id"); id != nullptr && !id->empty()) {
            scratch.message_id = *id;
            record.message_id = scratch.message_id;
        }
        std::optional<std::int64_t> when;
        if (const std::string* ms = text_at(envelope, "event_time_ms")) when = envelope_time_ms(*ms);
        if (!when)
            if (const std::string* seconds = text_at(envelope, "event_time")) when = envelope_time_ms(*seconds);
        if (when) {
            scratch.generate_time = std::to_string(*when);
            record.generate_time = scratch.generate_time;
        }
    }
    if (!record.message_id) {
        scratch.message_id = body_hash_id(record.body);
        record.message_id = scratch.message_id;
    }
}

class Profile final : public CloudProfile {
public:
    [[nodiscard]] std::string_view name() const override { return "huawei-iotda"; }
    [[nodiscard]] std::string_view title() const override { return "Huawei Cloud IoTDA"; }
    [[nodiscard]] const KeySet& keys() const override {
        static const KeySet kKeys{"access_key",  "access_code", "access_code_file", "access_code_credential",
                                  "instance_id", "queue"};
        return kKeys;
    }
    [[nodiscard]] ProfileLimits limits() const override {
        // No range is documented; the official samples use 8 s, a third-party client 600 s.
        return {5s, 600s, 0, true};
    }
    [[nodiscard]] std::string endpoint_advice() const override {
        return "the AMQPS address from the IoTDA console (instance > Overview > Access details), e.g. "
               "amqps://xxxxxxxx.st1.iotda-app.cn-north-4.myhuaweicloud.com:5671";
    }

    [[nodiscard]] std::unique_ptr<ProfileLayer> read(const MapReader& map, ReadContext& ctx) const override {
        auto layer = std::make_unique<Layer>();
        layer->access_key = get_checked_string(map, "access_key", access_key_problem, ctx.log);
        layer->access_code = read_secret(map, kCodeKeys, ctx);
        layer->instance_id = get_checked_string(map, "instance_id", forbidden_separator, ctx.log);
        layer->queue = get_checked_string(map, "queue", queue_problem, ctx.log);
        return layer;
    }

    [[nodiscard]] std::shared_ptr<const CloudSettings> build(const ProfileLayer& own_layer,
                                                             const ProfileLayer& inherited_layer,
                                                             const GroupFrame& group, ReadContext& ctx) const override {
        const auto& own = static_cast<const Layer&>(own_layer);
        const auto& inherited = static_cast<const Layer&>(inherited_layer);
        const std::size_t errors_before = ctx.log.size();
        if (pick(own.access_key, inherited.access_key).absent())
            group.missing(ctx.log, "access_key",
                          "set it here or under defaults: the access key of the AMQP access credential (IoTDA "
                          "console > Access details > Preset Access Credential)");
        if (pick(own.access_code, inherited.access_code).absent()) group.missing_secret(ctx.log, kCodeKeys);
        Group settings;
        apply(own.access_key, inherited.access_key, settings.access_key);
        if (const Field<SecretSetting>& code = pick(own.access_code, inherited.access_code); code.valid())
            settings.access_code = code.value.value;
        apply(own.instance_id, inherited.instance_id, settings.instance_id);
        apply(own.queue, inherited.queue, settings.queue);
        if (ctx.log.size() != errors_before) return nullptr;
        return std::make_shared<const Settings>(std::move(settings));
    }

    [[nodiscard]] std::string_view failure_hint(FailureKind kind, std::string_view /*condition*/,
                                                std::string_view /*description*/) const override {
        switch (kind) {
            case FailureKind::authentication:
                return "check access_key and the access code (resetting the credential in the console "
                       "invalidates the old one), instance_id (needed when the region has several instances), "
                       "and the clock (the user name's timestamp must be within 5 min: timedatectl)";
            case FailureKind::refused:
                return "IoTDA refused the connection or the link: check that the queue exists, that the access key "
                       "has at most 32 connections, and the heartbeat";
            default: return {};
        }
    }
};

}  // namespace

const CloudProfile& huawei_iotda_profile() {
    static const Profile profile;
    return profile;
}

}  // namespace iot
