// `cloud: aliyun`: Alibaba Cloud IoT Platform server-side subscription
// (PROTOCOL.md). The user name carries the consumer group and a signature
// over a fresh timestamp; messages carry topic, messageId and generateTime as
// application properties, and the device comes from the topic.
#include "iot-amqpd/clouds/aliyun.hpp"

#include "iot-amqpd/amqp_decoding.hpp"
#include "iot-amqpd/topic.hpp"

namespace iot {
namespace {

using namespace std::chrono_literals;
using namespace cfg;

const SecretKeys kSecretKeys{"access_key_secret", "access_key_secret_file", "access_key_secret_credential",
                             "the AccessKey secret"};

// consumer_group_id, access_key_id: never quoted back, an ID is half a credential.
std::string cloud_id_problem(std::string_view id) {
    if (id.empty()) return "must not be empty";
    return forbidden_separator(id);
}

struct Layer final : ProfileLayer {
    Field<std::string> consumer_group_id;
    Field<std::string> access_key_id;
    Field<SecretSetting> secret;
    Field<AuthMode> auth_mode;
    Field<std::string> security_token_file;
    Field<SignMethod> sign_method;
    Field<std::string> iot_instance_id;
};

class Settings final : public CloudSettings {
public:
    explicit Settings(AliyunGroup group) : group_(std::move(group)) {}

    [[nodiscard]] const CloudProfile& profile() const override { return aliyun_profile(); }
    [[nodiscard]] Credentials credentials(const std::string& client_id, std::int64_t now_wall_ms) const override;
    [[nodiscard]] std::string source_address() const override {
        return {};  // the cloud ignores it; the consumer group comes from the user name
    }
    [[nodiscard]] std::string_view group_id() const override { return group_.consumer_group_id; }
    [[nodiscard]] std::string reload_digest() const override { return group_.security_token_digest; }
    [[nodiscard]] std::string identity() const override {
        return "AccessKey " + mask_access_key_id(group_.access_key_id);
    }
    void describe(const proton::message& message, MessageScratch& scratch, MessageRecord& record) const override;
    [[nodiscard]] const AliyunGroup& group() const { return group_; }

private:
    AliyunGroup group_;
};

Credentials Settings::credentials(const std::string& client_id, std::int64_t now_wall_ms) const {
    SignRequest request;
    request.auth_mode = group_.auth_mode;
    request.sign_method = group_.sign_method;
    request.access_key_id = group_.access_key_id;
    request.access_key_secret = group_.access_key_secret.get();
    request.timestamp_ms = now_wall_ms;
    request.client_id = client_id;
    request.consumer_group_id = group_.consumer_group_id;
    request.iot_instance_id = group_.iot_instance_id;
    std::shared_ptr<const Secret> token;
    if (group_.auth_mode == AuthMode::ststoken) {
        token = read_security_token(group_.security_token_file);  // re-read: STS tokens expire and are rotated
        request.security_token = token.get();
    }
    return sign(request);
}

// Fills topic, messageId and generateTime from the encoded properties (the
// last of a repeated key wins, as in proton's map). False when one of them has
// a type only proton-cpp knows how to print.
bool properties_in_place(const proton::message& message, MessageScratch& scratch, MessageRecord& record) {
    PropertyReader reader(message);
    bool usual = true;
    std::string_view key;
    while (reader.next(key)) {
        std::optional<std::string_view>* target = nullptr;
        std::string* target_scratch = nullptr;
        if (key == "topic") {
            target = &record.topic, target_scratch = &scratch.topic;
        } else if (key == "messageId") {
            target = &record.message_id, target_scratch = &scratch.message_id;
        } else if (key == "generateTime") {
            target = &record.generate_time, target_scratch = &scratch.generate_time;
        } else {
            continue;
        }
        std::string_view text;
        switch (reader.value(*target_scratch, text)) {
            case ValueRead::absent: target->reset(); break;
            case ValueRead::text: *target = text; break;
            case ValueRead::unusual: usual = false; break;
        }
    }
    return usual;
}

void Settings::describe(const proton::message& message, MessageScratch& scratch, MessageRecord& record) const {
    record.topic.reset();
    record.message_id.reset();
    record.generate_time.reset();
    if (!properties_in_place(message, scratch, record)) {
        // A message the cloud would redeliver for ever must not stop the
        // group: it is written without the property proton could not read.
        record.topic = property_by_copy(message, "topic", scratch.topic);
        record.message_id = property_by_copy(message, "messageId", scratch.message_id);
        record.generate_time = property_by_copy(message, "generateTime", scratch.generate_time);
    }
    scratch.fields.clear();
    if (record.topic) {
        const DeviceRef device = device_from_topic(*record.topic);
        if (!device.product_key.empty()) scratch.fields.push_back({"IOT_PRODUCT_KEY", device.product_key});
        if (!device.device_name.empty()) scratch.fields.push_back({"IOT_DEVICE_NAME", device.device_name});
    }
    record.fields = &scratch.fields;
    record.body = body_bytes(message.body(), scratch.body);
}

class Profile final : public CloudProfile {
public:
    [[nodiscard]] std::string_view name() const override { return "aliyun"; }
    [[nodiscard]] std::string_view title() const override { return "Alibaba Cloud IoT Platform"; }
    [[nodiscard]] const KeySet& keys() const override {
        static const KeySet kKeys{"access_key_id",
                                  "access_key_secret",
                                  "access_key_secret_file",
                                  "access_key_secret_credential",
                                  "auth_mode",
                                  "security_token_file",
                                  "sign_method",
                                  "iot_instance_id"};
        return kKeys;
    }
    [[nodiscard]] const KeySet& group_only_keys() const override {
        static const KeySet kKeys{"consumer_group_id"};
        return kKeys;
    }
    [[nodiscard]] ProfileLimits limits() const override {
        // PROTOCOL.md §4: the idle time-out the cloud accepts, and 100 connection attempts per minute per group.
        return {30s, 300s, 100, true};
    }
    [[nodiscard]] std::string endpoint_advice() const override {
        return "the AMQP endpoint from the IoT Platform console (instance details > View Development "
               "Configurations), e.g. amqps://iot-06z00abcdef.amqp.iothub.aliyuncs.com:5671";
    }

    [[nodiscard]] std::unique_ptr<ProfileLayer> read(const MapReader& map, ReadContext& ctx) const override {
        ErrorLog& log = ctx.log;
        auto layer = std::make_unique<Layer>();
        layer->consumer_group_id = get_checked_string(map, "consumer_group_id", cloud_id_problem, log);
        layer->access_key_id = get_checked_string(map, "access_key_id", cloud_id_problem, log);
        layer->secret = read_secret(map, kSecretKeys, ctx);
        layer->auth_mode = get_choice(map, "auth_mode", parse_auth_mode, "aksign or ststoken", log);
        layer->security_token_file = get_checked_string(map, "security_token_file", readable_file_problem, log);
        layer->sign_method = get_choice(map, "sign_method", parse_sign_method, "hmacmd5, hmacsha1 or hmacsha256", log);
        layer->iot_instance_id = get_checked_string(map, "iot_instance_id", forbidden_separator, log);
        return layer;
    }

    [[nodiscard]] std::shared_ptr<const CloudSettings> build(const ProfileLayer& own_layer,
                                                             const ProfileLayer& inherited_layer,
                                                             const GroupFrame& group, ReadContext& ctx) const override {
        const auto& own = static_cast<const Layer&>(own_layer);
        const auto& inherited = static_cast<const Layer&>(inherited_layer);
        const std::size_t errors_before = ctx.log.size();
        check_required(own, inherited, group, ctx.log);
        check_security_token(own, inherited, group.label, ctx.log);
        AliyunGroup settings;
        set_if_valid(own.consumer_group_id, settings.consumer_group_id);
        apply(own.access_key_id, inherited.access_key_id, settings.access_key_id);
        if (const Field<SecretSetting>& secret = pick(own.secret, inherited.secret); secret.valid()) {
            settings.access_key_secret = secret.value.value;
            settings.secret_source = secret.value.source;
            settings.secret_path = secret.value.path;
        }
        apply(own.auth_mode, inherited.auth_mode, settings.auth_mode);
        const Field<std::string>& token = pick(own.security_token_file, inherited.security_token_file);
        set_if_valid(token, settings.security_token_file);
        // The token is read again before every attempt; its digest makes a reload
        // after it changed restart the group, so the new token is used at once.
        if (settings.auth_mode == AuthMode::ststoken && token.valid() && !token.value.empty()) {
            const SecretRead read = read_secret_file(token.value, "the STS security token");
            if (read.secret) settings.security_token_digest = content_digest(read.secret->reveal());
        }
        apply(own.sign_method, inherited.sign_method, settings.sign_method);
        apply(own.iot_instance_id, inherited.iot_instance_id, settings.iot_instance_id);
        if (ctx.log.size() != errors_before) return nullptr;
        return make_aliyun_settings(std::move(settings));
    }

    [[nodiscard]] std::string_view failure_hint(FailureKind kind, std::string_view /*condition*/,
                                                std::string_view description) const override {
        switch (kind) {
            case FailureKind::authentication:
                if (about_timestamp(description))
                    return "the cloud refused the signature's timestamp: the system clock is probably off (the "
                           "cloud accepts ±15 min of its own time); check it with timedatectl (is NTP "
                           "synchronised?), then the credentials";
                return "check access_key_id and its secret, consumer_group_id, iot_instance_id (required for new "
                       "public and Enterprise instances), that the RAM user has the iot:sub permission, and the "
                       "clock (the signature carries a timestamp: timedatectl)";
            case FailureKind::unreachable:
                return "check the endpoint host and port (copy them from the console's instance development "
                       "configuration), DNS, and that outbound TCP 5671 is allowed";
            case FailureKind::heartbeat:
                return "no frames within the heartbeat period: check the network path; heartbeat must be 30s..300s";
            case FailureKind::server_closed:
                return "the cloud closed the connection (deployment or load balancing, code 9602); this is normal";
            case FailureKind::refused:
                return "the cloud refused the connection: check the heartbeat (30s..300s), that the consumer group "
                       "is subscribed, and the limits (64 clients per group, 100 connection attempts per minute)";
            default: return {};
        }
    }

private:
    static void check_required(const Layer& own, const Layer& inherited, const GroupFrame& group, ErrorLog& log) {
        if (own.consumer_group_id.absent())
            group.missing(log, "consumer_group_id",
                          "copy the consumer group ID from the IoT Platform console (Message "
                          "Forwarding > Server-side Subscription > Consumer Groups)");
        if (pick(own.access_key_id, inherited.access_key_id).absent())
            group.missing(log, "access_key_id",
                          "set it here or under defaults: the AccessKey ID of a RAM user allowed to "
                          "subscribe (iot:sub)");
        if (pick(own.secret, inherited.secret).absent()) group.missing_secret(log, kSecretKeys);
    }

    static void check_security_token(const Layer& own, const Layer& inherited, const std::string& label,
                                     ErrorLog& log) {
        const Field<AuthMode>& mode = pick(own.auth_mode, inherited.auth_mode);
        if (!mode.valid() || mode.value != AuthMode::ststoken) return;
        const Field<std::string>& token = pick(own.security_token_file, inherited.security_token_file);
        if (token.invalid() || (token.valid() && !token.value.empty())) return;
        log.add(mode.where,
                "auth_mode ststoken needs security_token_file: the file holding the STS security token, "
                "re-read before every connection" +
                    for_group(mode.where, !own.security_token_file.absent(), label));
    }

    // The cloud's reason names the signed timestamp (stale, a replay, outside
    // its window): the clock comes first, not the credentials.
    static bool about_timestamp(std::string_view description) {
        for (const std::string_view word : {"timestamp", "Timestamp", "skew", "replay", "clock", "time window"})
            if (description.find(word) != std::string_view::npos) return true;
        return false;
    }
};

}  // namespace

const CloudProfile& aliyun_profile() {
    static const Profile profile;
    return profile;
}

std::shared_ptr<const CloudSettings> make_aliyun_settings(AliyunGroup group) {
    return std::make_shared<const Settings>(std::move(group));
}

const AliyunGroup& aliyun_of(const GroupConfig& group) {
    const auto* settings = dynamic_cast<const Settings*>(group.settings.get());
    if (settings == nullptr) throw std::invalid_argument("consumer group " + group.name + " is not of cloud: aliyun");
    return settings->group();
}

// The loader's secret-file reader: one buffer sized once and wiped, where a
// growing std::string would leave unwiped copies of the token on the heap.
std::shared_ptr<const Secret> read_security_token(const std::string& path) {
    SecretRead read = read_secret_file(path, "the STS security token");
    if (!read.secret) throw CredentialError("security_token_file: " + read.problem);
    return std::move(read.secret);
}

}  // namespace iot
