// `cloud: amqp`: any AMQP 1.0 broker queue (RabbitMQ, ActiveMQ Artemis, Qpid,
// Azure Service Bus, Eclipse Hono, ...): a fixed SASL PLAIN user and password,
// a source address, and the message's own AMQP properties (message-id,
// creation-time, subject) and application properties as journal fields.
#include <proton/message_id.hpp>
#include <proton/scalar.hpp>
#include <proton/timestamp.hpp>
#include <proton/uuid.hpp>

#include "iot-amqpd/amqp_decoding.hpp"
#include "iot-amqpd/cloud_profile.hpp"

namespace iot {

const CloudProfile& amqp_profile();

namespace {

using namespace std::chrono_literals;
using namespace cfg;

const SecretKeys kPasswordKeys{"password", "password_file", "password_credential", "the password"};
constexpr std::size_t kLongestFieldName = 64;  // journald's limit

std::string user_problem(std::string_view user) { return user.empty() ? "must not be empty" : std::string(); }

std::string source_problem(std::string_view source) {
    return source.empty() ? "must not be empty: the queue (or address) to consume, e.g. /amq/queue/iot (RabbitMQ)"
                          : std::string();
}

struct Group {
    std::string user;
    std::shared_ptr<const Secret> password;
    std::string source_address;
};

struct Layer final : ProfileLayer {
    Field<std::string> user;
    Field<SecretSetting> password;
    Field<std::string> source_address;
};

// An application property's journal field: IOT_PROP_ and the name in upper
// case, every character other than a letter or digit as '_', cut at
// journald's 64 characters (DESIGN.md §7).
void field_name(std::string_view property, std::string& out) {
    out = "IOT_PROP_";
    for (const char c : property) {
        if (out.size() == kLongestFieldName) break;
        const auto byte = static_cast<unsigned char>(c);
        out += std::isalnum(byte) != 0 && byte < 0x80 ? static_cast<char>(std::toupper(byte)) : '_';
    }
}

// The message-id as text: a string as it is, a number in decimal, a UUID in its canonical form.
void message_id_text(const proton::message_id& id, std::string& out) {
    switch (id.type()) {
        case proton::STRING: out = proton::get<std::string>(id); break;
        case proton::ULONG: out = std::to_string(proton::get<std::uint64_t>(id)); break;
        case proton::UUID: out = proton::get<proton::uuid>(id).str(); break;
        case proton::BINARY: {
            const auto bytes = proton::get<proton::binary>(id);
            out.assign(bytes.begin(), bytes.end());
            break;
        }
        default: out = proton::to_string(id); break;
    }
}

class Settings final : public CloudSettings {
public:
    explicit Settings(Group group) : group_(std::move(group)) {}

    [[nodiscard]] const CloudProfile& profile() const override { return amqp_profile(); }
    [[nodiscard]] Credentials credentials(const std::string& /*client_id*/,
                                          std::int64_t /*now_wall_ms*/) const override {
        Credentials creds;
        creds.user_name = group_.user;
        creds.password = Secret(std::string(group_.password->reveal()));
        return creds;
    }
    [[nodiscard]] std::string source_address() const override { return group_.source_address; }
    [[nodiscard]] std::string identity() const override {
        return "user " + group_.user + ", source " + group_.source_address;
    }
    void describe(const proton::message& message, MessageScratch& scratch, MessageRecord& record) const override;

private:
    Group group_;
};

void Settings::describe(const proton::message& message, MessageScratch& scratch, MessageRecord& record) const {
    record.topic.reset();
    record.message_id.reset();
    record.generate_time.reset();
    if (const proton::message_id id = message.id(); !id.empty()) {
        message_id_text(id, scratch.message_id);
        record.message_id = scratch.message_id;
    }
    if (const std::int64_t created = message.creation_time().milliseconds(); created != 0) {
        scratch.generate_time = std::to_string(created);
        record.generate_time = scratch.generate_time;
    }
    scratch.topic = message.subject();

    // Every text the fields point at lives in `texts`, sized before the first
    // view is taken so no view is left dangling by a reallocation.
    PropertyReader reader(message);
    const std::size_t needed = 2 * reader.size();
    if (scratch.texts.size() < needed) scratch.texts.resize(needed);
    scratch.fields.clear();
    if (!scratch.topic.empty()) scratch.fields.push_back({"IOT_SUBJECT", scratch.topic});
    std::string_view key;
    for (std::size_t i = 0; reader.next(key); ++i) {
        std::string& name = scratch.texts[2 * i];
        std::string& value = scratch.texts[2 * i + 1];
        field_name(key, name);
        // A list, map or described value has no one-line text form: left out.
        std::string_view text;
        if (reader.scalar_value(value, text) == ValueRead::text && !text.empty())
            scratch.fields.push_back({name, text});
    }
    record.fields = &scratch.fields;
    record.body = body_bytes(message.body(), scratch.body);
}

class Profile final : public CloudProfile {
public:
    [[nodiscard]] std::string_view name() const override { return "amqp"; }
    [[nodiscard]] std::string_view title() const override { return "an AMQP 1.0 broker queue"; }
    [[nodiscard]] const KeySet& keys() const override {
        static const KeySet kKeys{"user", "password", "password_file", "password_credential", "source_address"};
        return kKeys;
    }
    [[nodiscard]] ProfileLimits limits() const override { return {1s, 1h, 0, false}; }
    [[nodiscard]] std::string endpoint_advice() const override {
        return "the broker's address, e.g. amqps://broker.example.com:5671";
    }

    [[nodiscard]] std::unique_ptr<ProfileLayer> read(const MapReader& map, ReadContext& ctx) const override {
        auto layer = std::make_unique<Layer>();
        layer->user = get_checked_string(map, "user", user_problem, ctx.log);
        layer->password = read_secret(map, kPasswordKeys, ctx);
        layer->source_address = get_checked_string(map, "source_address", source_problem, ctx.log);
        return layer;
    }

    [[nodiscard]] std::shared_ptr<const CloudSettings> build(const ProfileLayer& own_layer,
                                                             const ProfileLayer& inherited_layer,
                                                             const GroupFrame& group, ReadContext& ctx) const override {
        const auto& own = static_cast<const Layer&>(own_layer);
        const auto& inherited = static_cast<const Layer&>(inherited_layer);
        const std::size_t errors_before = ctx.log.size();
        if (pick(own.user, inherited.user).absent())
            group.missing(ctx.log, "user", "set it here or under defaults: the broker user to log in as (SASL PLAIN)");
        if (pick(own.password, inherited.password).absent()) group.missing_secret(ctx.log, kPasswordKeys);
        if (pick(own.source_address, inherited.source_address).absent())
            group.missing(ctx.log, "source_address",
                          "the queue (or address) to consume, e.g. /amq/queue/iot for a RabbitMQ queue named iot");
        Group settings;
        apply(own.user, inherited.user, settings.user);
        if (const Field<SecretSetting>& password = pick(own.password, inherited.password); password.valid())
            settings.password = password.value.value;
        apply(own.source_address, inherited.source_address, settings.source_address);
        if (ctx.log.size() != errors_before) return nullptr;
        return std::make_shared<const Settings>(std::move(settings));
    }

    [[nodiscard]] std::string_view failure_hint(FailureKind kind, std::string_view /*condition*/,
                                                std::string_view /*description*/) const override {
        if (kind == FailureKind::authentication) return "check user and the password (and the broker's log)";
        if (kind == FailureKind::refused)
            return "the broker refused the link or the connection: check source_address (RabbitMQ: /amq/queue/NAME "
                   "for an existing queue), the user's permissions on it, and the broker's limits";
        return {};
    }
};

}  // namespace

const CloudProfile& amqp_profile() {
    static const Profile profile;
    return profile;
}

}  // namespace iot
