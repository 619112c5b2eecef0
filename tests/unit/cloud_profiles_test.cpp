// The cloud seam (issue 16): each group's `cloud:` picks a profile that owns
// its keys, checks and credentials; a reload compares every key as written.
#include <gtest/gtest.h>

#include <proton/binary.hpp>
#include <proton/message.hpp>
#include <proton/message_id.hpp>
#include <proton/timestamp.hpp>
#include <proton/uuid.hpp>

#include <map>
#include <string>
#include <vector>

#include "iot-amqpd/cloud_profile.hpp"
#include "iot-amqpd/config.hpp"
#include "iot-amqpd/config_diff.hpp"
#include "temp_dir.hpp"

namespace iot {
namespace {

class CloudConfig : public ::testing::Test {
protected:
    void SetUp() override {
        test::write_file(dir_ / "code", "access-code-value\n");
        test::write_file(dir_ / "code2", "access-code-other\n");
        test::write_file(dir_ / "password", "broker-password\n");
        test::write_file(dir_ / "secret", "aliyun-secret\n");
        test::write_file(dir_ / "token", "STS.token\n");
        test::write_file(dir_ / "ca.pem", "not read by the loader\n");
    }

    LoadResult load(std::string yaml) {
        for (std::size_t at = yaml.find("{dir}"); at != std::string::npos; at = yaml.find("{dir}"))
            yaml.replace(at, 5, dir_.path().string());
        test::write_file(dir_ / "iot-amqpd.yaml", yaml);
        return load_config((dir_ / "iot-amqpd.yaml").string(), LoadEnvironment{"gw1", dir_.path().string()});
    }

    std::vector<std::string> errors(const std::string& yaml) {
        std::vector<std::string> out;
        for (const ConfigError& error : load(yaml).errors) {
            const std::string text = error.to_string();
            out.push_back(text.substr(error.file.size() + 1));  // without the file name
        }
        return out;
    }

    test::TempDir dir_{"iot-clouds"};
};

const std::string kHuaweiGroup =
    "consumer_groups:\n"
    "  - name: hw\n"
    "    cloud: huawei-iotda\n"
    "    endpoint: amqps://iotda.example.com\n"
    "    access_key: AbCdEfGh\n"
    "    access_code_file: {dir}/code\n";

const std::string kAmqpGroup =
    "consumer_groups:\n"
    "  - name: broker\n"
    "    cloud: amqp\n"
    "    endpoint: amqps://broker.example.com\n"
    "    user: iot-reader\n"
    "    password_file: {dir}/password\n"
    "    source_address: /amq/queue/telemetry\n";

TEST_F(CloudConfig, HuaweiGroupBuildsAFreshUserNamePerAttempt) {
    const LoadResult result = load(kHuaweiGroup + "    instance_id: inst-1\n");
    ASSERT_TRUE(result.ok()) << result.errors.front().to_string();
    const GroupConfig& group = result.config->groups.at(0);
    EXPECT_EQ(group.cloud, "huawei-iotda");
    const CloudSettings& cloud = *group.settings;
    const Credentials first = cloud.credentials(group.client_ids.at(0), 1796466600123);
    EXPECT_EQ(first.user_name, "accessKey=AbCdEfGh|timestamp=1796466600123|instanceId=inst-1");
    EXPECT_EQ(first.password.reveal(), "access-code-value");
    EXPECT_EQ(cloud.credentials(group.client_ids.at(0), 1796466601000).user_name,
              "accessKey=AbCdEfGh|timestamp=1796466601000|instanceId=inst-1");
    EXPECT_EQ(cloud.open_hostname("iotda.example.com"), "default");
    EXPECT_EQ(cloud.source_address(), "DefaultQueue");
    EXPECT_EQ(cloud.identity().find("access-code"), std::string::npos);
    EXPECT_EQ(group.port, 5671);
}

TEST_F(CloudConfig, HuaweiUserNameOmitsAnInstanceIdNotConfigured) {
    const LoadResult result = load(kHuaweiGroup + "    queue: factory-queue\n");
    ASSERT_TRUE(result.ok());
    const CloudSettings& cloud = *result.config->groups.at(0).settings;
    EXPECT_EQ(cloud.credentials("c", 1796466600123).user_name, "accessKey=AbCdEfGh|timestamp=1796466600123");
    EXPECT_EQ(cloud.source_address(), "factory-queue");
}

TEST_F(CloudConfig, AmqpGroupUsesItsFixedUserAndSource) {
    const LoadResult result = load(kAmqpGroup);
    ASSERT_TRUE(result.ok()) << result.errors.front().to_string();
    const CloudSettings& cloud = *result.config->groups.at(0).settings;
    const Credentials creds = cloud.credentials("c", 1);
    EXPECT_EQ(creds.user_name, "iot-reader");
    EXPECT_EQ(creds.password.reveal(), "broker-password");
    EXPECT_EQ(cloud.source_address(), "/amq/queue/telemetry");
    EXPECT_EQ(cloud.open_hostname("broker.example.com"), "broker.example.com");
    EXPECT_TRUE(cloud.group_id().empty());
}

TEST_F(CloudConfig, EachProfileNamesWhatIsMissing) {
    EXPECT_EQ(errors("consumer_groups:\n  - name: hw\n    cloud: huawei-iotda\n    endpoint: amqps://h\n"),
              (std::vector<std::string>{
                  "2:5: consumer_groups[0].access_key: missing: set it here or under defaults: the access key of the "
                  "AMQP access credential (IoTDA console > Access details > Preset Access Credential)",
                  "2:5: consumer_groups[0]: no access code: set access_code_file (recommended), "
                  "access_code_credential or access_code, here or under defaults"}));
    EXPECT_EQ(errors("consumer_groups:\n  - name: b\n    cloud: amqp\n    endpoint: amqps://h\n    user: u\n"
                     "    password: pw-inline\n"),
              (std::vector<std::string>{"2:5: consumer_groups[0].source_address: missing: the queue (or address) to "
                                        "consume, e.g. /amq/queue/iot for a RabbitMQ queue named iot"}));
}

TEST_F(CloudConfig, AKeyOfAnotherCloudNamesTheCloudItBelongsTo) {
    EXPECT_EQ(errors(kAmqpGroup + "    access_key: AbCdEfGh\n"),
              (std::vector<std::string>{
                  "8:5: consumer_groups[0].access_key: belongs to cloud: huawei-iotda, and this group uses cloud: "
                  "amqp (an AMQP 1.0 broker queue); remove it or set cloud: huawei-iotda"}));
}

TEST_F(CloudConfig, DefaultsServeTheGroupsOfTheirCloud) {
    const LoadResult mixed = load(
        "defaults:\n  access_key_id: LTAI5tTestKeyId\n  access_key_secret_file: {dir}/secret\n"
        "  endpoint: amqps://iot.example.com\n" +
        kAmqpGroup + "  - name: ali\n    consumer_group_id: CG-A\n");
    ASSERT_TRUE(mixed.ok()) << mixed.errors.front().to_string();
    EXPECT_EQ(mixed.config->groups.at(0).endpoint, "amqps://broker.example.com");
    EXPECT_EQ(mixed.config->groups.at(1).cloud, "aliyun");
    EXPECT_EQ(mixed.config->groups.at(1).written.count("access_key_id"), 1U);
    EXPECT_EQ(mixed.config->groups.at(0).written.count("access_key_id"), 0U);

    EXPECT_EQ(errors("defaults:\n  queue: factory-queue\n" + kAmqpGroup),
              (std::vector<std::string>{"2:3: defaults.queue: belongs to cloud: huawei-iotda, which no consumer "
                                        "group uses; remove it, or set cloud: huawei-iotda in the groups it is for"}));
}

TEST_F(CloudConfig, AnUnknownCloudIsAnErrorListingTheKnownOnes) {
    EXPECT_EQ(errors(kAmqpGroup + "  - name: z\n    cloud: azure\n    endpoint: amqps://h\n"),
              (std::vector<std::string>{
                  "9:12: consumer_groups[1].cloud: expected aliyun, amqp or huawei-iotda, got \"azure\""}));
}

TEST_F(CloudConfig, PlainAmqpOnlyForTheAmqpProfileAndOnlyWhenAskedFor) {
    const std::string plain =
        "consumer_groups:\n  - name: broker\n    cloud: amqp\n    endpoint: amqp://127.0.0.1\n"
        "    user: u\n    password_file: {dir}/password\n    source_address: q\n";
    EXPECT_EQ(errors(plain), (std::vector<std::string>{
                                 "4:15: consumer_groups[0].endpoint: plain amqp:// sends the password and every "
                                 "message unencrypted: use amqps://, or set tls: { insecure_plaintext: true } for a "
                                 "broker on a network you trust"}));
    const LoadResult allowed = load(plain + "    tls: {insecure_plaintext: true}\n");
    ASSERT_TRUE(allowed.ok()) << allowed.errors.front().to_string();
    EXPECT_TRUE(allowed.config->groups.at(0).plaintext);
    EXPECT_EQ(allowed.config->groups.at(0).port, 5672);
    ASSERT_EQ(allowed.warnings.size(), 1U);
    EXPECT_NE(allowed.warnings[0].find("connects without TLS"), std::string::npos);

    EXPECT_EQ(errors("consumer_groups:\n  - name: hw\n    cloud: huawei-iotda\n    endpoint: amqp://h\n"
                     "    access_key: AbCdEfGh\n    access_code_file: {dir}/code\n"
                     "    tls: {insecure_plaintext: true}\n"),
              (std::vector<std::string>{"4:15: consumer_groups[0].endpoint: plain amqp:// is not allowed: the cloud "
                                        "requires TLS, use amqps:// (port 5671)"}));
}

TEST_F(CloudConfig, HeartbeatBoundsAreTheProfiles) {
    EXPECT_EQ(errors(kHuaweiGroup + "    heartbeat: 3s\n"),
              (std::vector<std::string>{"7:16: consumer_groups[0].heartbeat: 3s is below the minimum 5s"}));
    EXPECT_TRUE(load(kAmqpGroup + "    heartbeat: 2s\n").ok());
    EXPECT_TRUE(load(kHuaweiGroup + "    heartbeat: 10m\n").ok());
}

// ---- the reload comparison is derived from the keys ----------------------------

// Two different valid values for every per-group key, by the key's leaf path
// under a group; a key the loader accepts and this table lacks fails the test,
// so a new key cannot go untested.
const std::map<std::string, std::pair<std::string, std::string>> kTwoValues{
    {"cloud", {"", ""}},  // changing the cloud changes every key; covered by the per-cloud groups
    {"endpoint", {"amqps://a.example.com", "amqps://b.example.com"}},
    {"client_id", {"%H-%g", "%g-%H"}},
    {"connections", {"1", "2"}},
    {"heartbeat", {"60s", "90s"}},
    {"credit", {"100", "7"}},
    {"memory_budget", {"8MiB", "512KiB"}},
    {"reconnect.initial_delay", {"1s", "2s"}},
    {"reconnect.max_delay", {"60s", "2m"}},
    {"reconnect.multiplier", {"2.0", "3.0"}},
    {"reconnect.jitter", {"0.2", "0.5"}},
    {"tls.ca_file", {"{dir}/ca.pem", "{dir}/token"}},
    {"tls.verify_hostname", {"true", "false"}},
    {"tls.insecure_plaintext", {"", ""}},  // only with amqp://: covered below
    {"dedup_window", {"10000", "0"}},
    {"consumer_group_id", {"CG-A", "CG-B"}},
    {"access_key_id", {"LTAI5tTestKeyId", "LTAI5tOtherKeyId"}},
    {"access_key_secret", {"inline-one", "inline-two"}},
    {"access_key_secret_file", {"{dir}/secret", "{dir}/token"}},
    {"access_key_secret_credential", {"secret", "token"}},
    {"auth_mode", {"aksign", "ststoken"}},
    {"security_token_file", {"{dir}/token", "{dir}/secret"}},
    {"sign_method", {"hmacsha256", "hmacsha1"}},
    {"iot_instance_id", {"iot-1", "iot-2"}},
    {"access_key", {"AbCdEfGh", "HgFeDcBa"}},
    {"access_code", {"inline-code-one", "inline-code-two"}},
    {"access_code_file", {"{dir}/code", "{dir}/code2"}},
    {"access_code_credential", {"code", "code2"}},
    {"instance_id", {"inst-1", "inst-2"}},
    {"queue", {"DefaultQueue", "factory-queue"}},
    {"user", {"u1", "u2"}},
    {"password", {"inline-pw-one", "inline-pw-two"}},
    {"password_file", {"{dir}/password", "{dir}/code"}},
    {"password_credential", {"password", "code"}},
    {"source_address", {"q1", "q2"}},
};

// The smallest valid group of each cloud, without `key` (and its secret family).
std::map<std::string, std::string> base_group(const std::string& cloud) {
    if (cloud == "huawei-iotda")
        return {{"cloud", cloud},
                {"endpoint", "amqps://h.example.com"},
                {"access_key", "AbCdEfGh"},
                {"access_code_file", "{dir}/code"}};
    if (cloud == "amqp")
        return {{"cloud", cloud},
                {"endpoint", "amqps://h.example.com"},
                {"user", "u1"},
                {"password_file", "{dir}/password"},
                {"source_address", "q1"}};
    return {{"endpoint", "amqps://h.example.com"},
            {"consumer_group_id", "CG-A"},
            {"access_key_id", "LTAI5tTestKeyId"},
            {"access_key_secret_file", "{dir}/secret"}};
}

std::string group_yaml(std::map<std::string, std::string> keys) {
    std::string yaml = "consumer_groups:\n  - name: g\n";
    std::map<std::string, std::map<std::string, std::string>> nested;
    for (const auto& [key, value] : keys) {
        const std::size_t dot = key.find('.');
        if (dot == std::string::npos)
            yaml += "    " + key + ": \"" + value + "\"\n";
        else
            nested[key.substr(0, dot)][key.substr(dot + 1)] = value;
    }
    for (const auto& [map, entries] : nested) {
        yaml += "    " + map + ":\n";
        for (const auto& [key, value] : entries) yaml += "      " + key + ": \"" + value + "\"\n";
    }
    return yaml;
}

std::string leaf_of(const std::string& accepted) {
    for (const char* prefix : {"defaults.", "consumer_groups."})
        if (accepted.rfind(prefix, 0) == 0) return accepted.substr(std::string(prefix).size());
    return {};
}

std::string cloud_of(const std::string& key) {
    for (const CloudProfile* profile : cloud_profiles())
        for (const auto& keys : {profile->keys(), profile->group_only_keys()})
            for (const std::string_view k : keys)
                if (k == key) return std::string(profile->name());
    return "aliyun";
}

void erase_family(std::map<std::string, std::string>& keys, const std::string& key) {
    for (const std::string base : {"access_key_secret", "access_code", "password"})
        if (key.rfind(base, 0) == 0)
            for (const std::string suffix : {"", "_file", "_credential"}) keys.erase(base + suffix);
}

TEST_F(CloudConfig, EveryChangedKeyRestartsTheGroup) {
    std::size_t checked = 0;
    for (const std::string& accepted : accepted_config_keys()) {
        const std::string key = leaf_of(accepted);
        if (key.empty() || key == "name" || key == "reconnect" || key == "tls") continue;
        const auto values = kTwoValues.find(key);
        ASSERT_NE(values, kTwoValues.end()) << "no test values for " << accepted;
        if (values->second.first.empty()) continue;
        const std::string cloud = cloud_of(key);
        std::map<std::string, std::string> keys = base_group(cloud);
        erase_family(keys, key);
        if (key == "auth_mode" || key == "security_token_file") keys["security_token_file"] = "{dir}/token";
        keys[key] = values->second.first;
        const LoadResult before = load(group_yaml(keys));
        ASSERT_TRUE(before.ok()) << accepted << ": " << before.errors.front().to_string();
        const LoadResult again = load(group_yaml(keys));
        EXPECT_TRUE(before.config->groups[0].same_settings(again.config->groups[0])) << accepted;
        keys[key] = values->second.second;
        const LoadResult after = load(group_yaml(keys));
        ASSERT_TRUE(after.ok()) << accepted << ": " << after.errors.front().to_string();
        EXPECT_FALSE(before.config->groups[0].same_settings(after.config->groups[0])) << accepted;
        ++checked;
    }
    EXPECT_GE(checked, 30U);
}

TEST_F(CloudConfig, ChangedSecretContentRestartsTheGroupOfEveryCloud) {
    for (const auto& [yaml, file] : {std::pair{kHuaweiGroup, "code"}, std::pair{kAmqpGroup, "password"}}) {
        const LoadResult before = load(yaml);
        ASSERT_TRUE(before.ok());
        test::write_file(dir_ / file, "rotated\n");
        const LoadResult after = load(yaml);
        ASSERT_TRUE(after.ok());
        EXPECT_FALSE(before.config->groups[0].same_settings(after.config->groups[0])) << file;
        EXPECT_EQ(after.config->groups[0].written.begin()->second.find("rotated"), std::string::npos);
    }
}

// ---- how a message becomes a record ---------------------------------------------

struct Described {
    MessageScratch scratch;
    MessageRecord record;
    std::map<std::string, std::string> fields;
};

void describe(const CloudSettings& cloud, const proton::message& message, Described& out) {
    cloud.describe(message, out.scratch, out.record);
    out.fields.clear();
    for (const RecordField& field : *out.record.fields) out.fields[std::string(field.name)] = std::string(field.value);
}

proton::message with_body(const std::string& body) {
    proton::message message;
    message.body(proton::binary(body));
    return message;
}

TEST_F(CloudConfig, HuaweiEnvelopeBecomesJournalFields) {
    const LoadResult result = load(kHuaweiGroup);
    ASSERT_TRUE(result.ok());
    const CloudSettings& cloud = *result.config->groups[0].settings;
    Described d;
    const std::string body =
        R"({"resource":"device.message","event":"report","event_time":"20261205T103000Z",)"
        R"("event_time_ms":"2026-12-05T10:30:00.123Z","request_id":"req-7",)"
        R"("notify_data":{"header":{"device_id":"dev-1","product_id":"prod-1","app_id":"a"},"body":{"content":"x"}}})";
    const proton::message message = with_body(body);  // the record's views point into it
    describe(cloud, message, d);
    EXPECT_EQ(d.fields, (std::map<std::string, std::string>{{"IOT_RESOURCE", "device.message"},
                                                            {"IOT_EVENT_TYPE", "report"},
                                                            {"IOT_DEVICE_ID", "dev-1"},
                                                            {"IOT_PRODUCT_ID", "prod-1"}}));
    EXPECT_EQ(d.record.message_id.value_or(""), "req-7");
    EXPECT_EQ(d.record.generate_time.value_or(""), "1796466600123");
    EXPECT_FALSE(d.record.topic.has_value());
    EXPECT_EQ(d.record.body, body);

    // Without event_time_ms: the second-precision event_time.
    describe(cloud, with_body(R"({"resource":"device.status","event_time":"20261205T103000Z"})"), d);
    EXPECT_EQ(d.record.generate_time.value_or(""), "1796466600000");

    // Found by fuzzing: a time before 1970 is no time, an empty value no field.
    const proton::message odd = with_body(R"({"resource":"","event":"report","event_time":"10130602T103000Z"})");
    describe(cloud, odd, d);
    EXPECT_FALSE(d.record.generate_time.has_value());
    EXPECT_EQ(d.fields, (std::map<std::string, std::string>{{"IOT_EVENT_TYPE", "report"}}));
}

TEST_F(CloudConfig, HuaweiWithoutRequestIdFallsBackToTheBodysHash) {
    const LoadResult result = load(kHuaweiGroup);
    ASSERT_TRUE(result.ok());
    const CloudSettings& cloud = *result.config->groups[0].settings;
    Described a;
    Described b;
    Described c;
    describe(cloud, with_body(R"({"resource":"device.message","event":"report"})"), a);
    describe(cloud, with_body(R"({"resource":"device.message","event":"report"})"), b);
    describe(cloud, with_body(R"({"resource":"device.message","event":"update"})"), c);
    ASSERT_TRUE(a.record.message_id.has_value());
    EXPECT_EQ(a.record.message_id->substr(0, 7), "sha256:");
    EXPECT_EQ(a.record.message_id->size(), 7U + 32U);
    EXPECT_EQ(*a.record.message_id, *b.record.message_id);  // a redelivery is recognised
    EXPECT_NE(*a.record.message_id, *c.record.message_id);

    Described broken;  // not JSON: written as it is, no fields, still an id
    const proton::message not_json = with_body("not json {");
    describe(cloud, not_json, broken);
    EXPECT_TRUE(broken.fields.empty());
    EXPECT_EQ(broken.record.body, "not json {");
    EXPECT_TRUE(broken.record.message_id.has_value());
}

TEST_F(CloudConfig, AmqpPropertiesBecomeJournalFields) {
    const LoadResult result = load(kAmqpGroup);
    ASSERT_TRUE(result.ok());
    const CloudSettings& cloud = *result.config->groups[0].settings;
    proton::message message = with_body("{\"t\":21.5}");
    message.id(proton::message_id(std::string("msg-42")));
    message.creation_time(proton::timestamp(1796466600123));
    message.subject("telemetry");
    message.properties().put("room-2", 7);
    message.properties().put("flag", true);
    message.properties().put("site", "north");
    message.properties().put("ratio", 0.5);  // a type read through proton-cpp
    Described d;
    describe(cloud, message, d);
    EXPECT_EQ(d.record.message_id.value_or(""), "msg-42");
    EXPECT_EQ(d.record.generate_time.value_or(""), "1796466600123");
    EXPECT_EQ(d.fields, (std::map<std::string, std::string>{{"IOT_SUBJECT", "telemetry"},
                                                            {"IOT_PROP_ROOM_2", "7"},
                                                            {"IOT_PROP_FLAG", "true"},
                                                            {"IOT_PROP_SITE", "north"},
                                                            {"IOT_PROP_RATIO", "0.5"}}));
    EXPECT_EQ(d.record.body, "{\"t\":21.5}");

    proton::message numbered = with_body("x");
    numbered.id(proton::message_id(std::uint64_t{77}));
    describe(cloud, numbered, d);
    EXPECT_EQ(d.record.message_id.value_or(""), "77");
    EXPECT_FALSE(d.record.generate_time.has_value());
    EXPECT_TRUE(d.fields.empty());
}

}  // namespace
}  // namespace iot
