// Bad config files and the exact message an operator gets for each
// (DESIGN.md §4: "file:line:col: key.path: reason", every error at once).
//
// In the YAML below, {dir} is the test's directory and {file} the config file;
// kHead is lines 1-4, so a case's own text starts on line 5.
#include "iot-amqpd/config.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "temp_dir.hpp"

namespace iot {
namespace {

namespace fs = std::filesystem;

// Distinctive, so a leak is easy to spot; it is in every secret file too.
constexpr std::string_view kSecret = "S3cr3t-Zebra-Quokka-4711";

constexpr std::string_view kHead =
    "defaults:\n"                                                     // 1
    "  endpoint: amqps://iot-06z00abcdef.amqp.iothub.aliyuncs.com\n"  // 2
    "  access_key_id: LTAI5tTestKeyId\n"                              // 3
    "  access_key_secret_file: {dir}/secret\n";                       // 4

constexpr std::string_view kGroupA =
    "consumer_groups:\n"                // 5
    "  - name: factory-a\n"             // 6
    "    consumer_group_id: CG0001\n";  // 7

constexpr std::string_view kGroupB =
    "  - name: factory-b\n"             // 8
    "    consumer_group_id: CG0002\n";  // 9

std::string head(std::string_view rest) { return std::string(kHead) + std::string(rest); }
std::string group_a(std::string_view rest) { return head(std::string(kGroupA) + std::string(rest)); }
std::string two_groups(std::string_view rest) { return group_a(std::string(kGroupB) + std::string(rest)); }

constexpr std::string_view kNoEndpointHead =
    "defaults:\n"                                // 1
    "  access_key_id: LTAI5tTestKeyId\n"         // 2
    "  access_key_secret_file: {dir}/secret\n";  // 3

const std::string kMissingGroupId =
    "consumer_groups[0].consumer_group_id: missing: copy the consumer group ID from the IoT Platform console "
    "(Message Forwarding > Server-side Subscription > Consumer Groups)";
const std::string kTooLongName(60, 'n');
const std::string kDurationHelp = "expected a duration such as 60s or 1500ms (units: ms, s, m, h), got ";
const std::string kSeparators = "the cloud's user name uses '|', ',' and '=' as separators and cannot escape them";

struct BadFile {
    std::string name;
    std::string yaml;
    std::vector<std::string> expected;  // full to_string() texts, in order
    bool credentials_directory = true;
};

std::ostream& operator<<(std::ostream& out, const BadFile& file) { return out << file.name; }

const std::vector<BadFile> kBadFiles = {
    {"UnknownTopLevelKey", group_a("colour: blue\n"), {"{file}:8:1: colour: unknown key"}},
    {"MisspelledNestedKeyInDefaults",
     head("  reconnect:\n    jiter: 0.1\n") + std::string(kGroupA),
     {"{file}:6:5: defaults.reconnect.jiter: unknown key (did you mean \"jitter\"?)"}},
    {"PerGroupKeyAtTopLevel",
     group_a("heartbeat: 60s\n"),
     {"{file}:8:1: heartbeat: unknown key (heartbeat is a per-group setting: put it under defaults: or inside a "
      "consumer group)"}},
    {"GroupNameUnderDefaults",
     head("  name: everything\n") + std::string(kGroupA),
     {"{file}:5:3: defaults.name: unknown key (name differs per group: set it inside each consumer group, not "
      "under defaults)"}},
    {"MisspelledSecretKeyDoesNotShowTheValue",
     group_a("    access_key_secert: S3cr3t-Zebra-Quokka-4711\n"),
     {"{file}:8:5: consumer_groups[0].access_key_secert: unknown key (did you mean \"access_key_secret\"?)"}},
    {"YamlMergeKey",
     group_a("    <<: {credit: 5}\n"),
     {"{file}:8:5: consumer_groups[0].<<: unknown key (YAML merge keys are not supported; put shared settings "
      "under defaults:)"}},
    {"DuplicateKey",
     group_a("    consumer_group_id: CG0002\n"),
     {"{file}:8:5: consumer_groups[0].consumer_group_id: set twice (first on line 7); delete one of them"}},
    {"IntegerAsWord",
     group_a("    connections: two\n"),
     {"{file}:8:18: consumer_groups[0].connections: expected an integer, got \"two\""}},
    {"IntegerAsList",
     group_a("    connections: [1, 2]\n"),
     {"{file}:8:18: consumer_groups[0].connections: expected an integer, got a list"}},
    {"IntegerFarOutOfRange",
     group_a("    connections: 99999999999999999999\n"),
     {"{file}:8:18: consumer_groups[0].connections: 99999999999999999999 is far out of range"}},
    {"ConnectionsAboveMaximum",
     group_a("    connections: 65\n"),
     {"{file}:8:18: consumer_groups[0].connections: 65 is above the maximum 64"}},
    {"NonUtf8IotInstanceId",
     group_a("    iot_instance_id: iot-\xff\xfe\n"),
     {"{file}:8:22: consumer_groups[0].iot_instance_id: the value is not valid UTF-8 text"}},
    {"CreditZero", group_a("    credit: 0\n"), {"{file}:8:13: consumer_groups[0].credit: 0 is below the minimum 1"}},
    {"MemoryBudgetInDecimalUnits",
     group_a("    memory_budget: 8MB\n"),
     {"{file}:8:20: consumer_groups[0].memory_budget: expected a size such as 8MiB or 512KiB (units: B, KiB, MiB, "
      "GiB), got \"8MB\"; sizes are binary: write 8MiB"}},
    {"MemoryBudgetWithoutUnit",
     group_a("    memory_budget: 8388608\n"),
     {"{file}:8:20: consumer_groups[0].memory_budget: expected a size such as 8MiB or 512KiB (units: B, KiB, MiB, "
      "GiB), got \"8388608\"; add a unit, e.g. 8388608B"}},
    {"MemoryBudgetTooSmall",
     group_a("    memory_budget: 1KiB\n"),
     {"{file}:8:20: consumer_groups[0].memory_budget: 1KiB is below the minimum 64KiB"}},
    {"DedupWindowNegative",
     group_a("    dedup_window: -1\n"),
     {"{file}:8:19: consumer_groups[0].dedup_window: -1 is below the minimum 0"}},
    {"HeartbeatBelowMinimumInSecondGroup",
     two_groups("    heartbeat: 10s\n"),
     {"{file}:10:16: consumer_groups[1].heartbeat: 10s is below the minimum 30s"}},
    {"HeartbeatAboveMaximumInDefaults",
     head("  heartbeat: 301s\n") + std::string(kGroupA) + std::string(kGroupB),
     {"{file}:5:14: defaults.heartbeat: 301s is above the maximum 300s"}},
    {"DurationWithoutUnit",
     group_a("    heartbeat: 60\n"),
     {"{file}:8:16: consumer_groups[0].heartbeat: " + kDurationHelp + "\"60\"; add a unit, e.g. 60s"}},
    {"DurationWithDecimals",
     head("  reconnect: {initial_delay: 1.5s}\n") + std::string(kGroupA),
     {"{file}:5:30: defaults.reconnect.initial_delay: " + kDurationHelp +
      "\"1.5s\"; use whole numbers, e.g. 1500ms instead of 1.5s"}},
    {"DurationNegative",
     group_a("metrics:\n  interval: -5s\n"),
     {"{file}:9:13: metrics.interval: " + kDurationHelp + "\"-5s\"; a duration cannot be negative"}},
    {"DurationOverflow",
     group_a("    heartbeat: 99999999999999999999h\n"),
     {"{file}:8:16: consumer_groups[0].heartbeat: \"99999999999999999999h\" is far out of range"}},
    {"PlainAmqpEndpoint",
     "defaults:\n  endpoint: amqp://iot-06z00abcdef.amqp.iothub.aliyuncs.com\n  access_key_id: LTAI5tTestKeyId\n"
     "  access_key_secret_file: {dir}/secret\n" +
         std::string(kGroupA),
     {"{file}:2:13: defaults.endpoint: plain amqp:// is not allowed: the cloud requires TLS, use amqps:// (port "
      "5671)"}},
    {"EndpointWithoutScheme",
     group_a("    endpoint: iot-06z00abcdef.amqp.iothub.aliyuncs.com:5671\n"),
     {"{file}:8:15: consumer_groups[0].endpoint: expected amqps://host[:port], got "
      "\"iot-06z00abcdef.amqp.iothub.aliyuncs.com:5671\""}},
    {"EndpointBadPort",
     group_a("    endpoint: amqps://127.0.0.1:99999\n"),
     {"{file}:8:15: consumer_groups[0].endpoint: the port must be a number from 1 to 65535, got \"99999\""}},
    {"EndpointWithPath",
     group_a("    endpoint: amqps://127.0.0.1:5671/queue\n"),
     {"{file}:8:15: consumer_groups[0].endpoint: expected just amqps://host[:port], without user name, path or "
      "query, got \"amqps://127.0.0.1:5671/queue\""}},
    {"MissingConsumerGroupId", head("consumer_groups:\n  - name: factory-a\n"), {"{file}:6:5: " + kMissingGroupId}},
    {"MissingEndpoint",
     std::string(kNoEndpointHead) + "consumer_groups:\n  - name: factory-a\n    consumer_group_id: CG1\n",
     {"{file}:5:5: consumer_groups[0].endpoint: missing: set it here or under defaults: the AMQP endpoint from "
      "the IoT Platform console (instance details > View Development Configurations), e.g. "
      "amqps://iot-06z00abcdef.amqp.iothub.aliyuncs.com:5671"}},
    {"MissingSecret",
     "defaults:\n  endpoint: amqps://127.0.0.1\n  access_key_id: LTAI5tTestKeyId\n" + std::string(kGroupA),
     {"{file}:5:5: consumer_groups[0]: no AccessKey secret: set access_key_secret_file (recommended), "
      "access_key_secret_credential or access_key_secret, here or under defaults"}},
    {"TwoSecretSourcesInOneMap",
     head("  access_key_secret: S3cr3t-Zebra-Quokka-4711\n") + std::string(kGroupA),
     {"{file}:5:3: defaults.access_key_secret: only one source is allowed for the AccessKey secret, and "
      "access_key_secret_file is already set on line 4; keep just one of access_key_secret_file, "
      "access_key_secret_credential and access_key_secret"}},
    {"EmptyInlineSecret",
     group_a("    access_key_secret: \"\"\n"),
     {"{file}:8:24: consumer_groups[0].access_key_secret: must not be empty"}},
    {"SecretFileMissing",
     group_a("    access_key_secret_file: {dir}/nope\n"),
     {"{file}:8:29: consumer_groups[0].access_key_secret_file: cannot read {dir}/nope: No such file or directory"}},
    {"SecretFileEmpty",
     group_a("    access_key_secret_file: {dir}/blank\n"),
     {"{file}:8:29: consumer_groups[0].access_key_secret_file: {dir}/blank is empty; it must hold the AccessKey "
      "secret"}},
    {"SecretFileIsADirectory",
     group_a("    access_key_secret_file: {dir}/creds\n"),
     {"{file}:8:29: consumer_groups[0].access_key_secret_file: {dir}/creds is a directory, not a file"}},
    {"CredentialMissing",
     group_a("    access_key_secret_credential: nothere\n"),
     {"{file}:8:35: consumer_groups[0].access_key_secret_credential: cannot read {dir}/creds/nothere: No such "
      "file or directory (does the unit pass it with LoadCredential=nothere:...?)"}},
    {"CredentialWithoutCredentialsDirectory",
     group_a("    access_key_secret_credential: ak\n"),
     {"{file}:8:35: consumer_groups[0].access_key_secret_credential: $CREDENTIALS_DIRECTORY is not set, so there "
      "is no credential to read: start the daemon from its systemd unit with LoadCredential=ak:/path/to/secret, "
      "or use access_key_secret_file"},
     false},
    {"CredentialNameIsAPath",
     group_a("    access_key_secret_credential: ../secret\n"),
     {"{file}:8:35: consumer_groups[0].access_key_secret_credential: must be a credential name (as in "
      "LoadCredential=NAME:...), not a path"}},
    {"EmptyAccessKeyId",
     group_a("    access_key_id: \"\"\n"),
     {"{file}:8:20: consumer_groups[0].access_key_id: must not be empty"}},
    {"AuthModeUnknown",
     group_a("    auth_mode: sts\n"),
     {"{file}:8:16: consumer_groups[0].auth_mode: expected aksign or ststoken, got \"sts\""}},
    {"StsTokenWithoutTokenFile",
     group_a("    auth_mode: ststoken\n"),
     {"{file}:8:16: consumer_groups[0].auth_mode: auth_mode ststoken needs security_token_file: the file holding "
      "the STS security token, re-read before every connection"}},
    {"StsTokenFileMissing",
     group_a("    auth_mode: ststoken\n    security_token_file: {dir}/no-token\n"),
     {"{file}:9:26: consumer_groups[0].security_token_file: cannot read {dir}/no-token: No such file or "
      "directory"}},
    {"SignMethodUnknown",
     group_a("    sign_method: sha256\n"),
     {"{file}:8:18: consumer_groups[0].sign_method: expected hmacmd5, hmacsha1 or hmacsha256, got \"sha256\""}},
    {"MaxDelayBelowInitialDelay",
     group_a("    reconnect:\n      initial_delay: 30s\n      max_delay: 10s\n"),
     {"{file}:10:18: consumer_groups[0].reconnect.max_delay: 10s is below initial_delay 30s; max_delay must be "
      "at least initial_delay"}},
    {"InitialDelayAboveDefaultMaxDelay",
     head("  reconnect: {initial_delay: 2m}\n") + std::string(kGroupA),
     {"{file}:5:30: defaults.reconnect.initial_delay: 2m is above max_delay, which defaults to 60s; set a larger "
      "max_delay too"}},
    {"DefaultMaxDelayBelowGroupInitialDelay",
     head("  reconnect: {max_delay: 10s}\n") + std::string(kGroupA) + "    reconnect: {initial_delay: 20s}\n",
     {"{file}:5:26: defaults.reconnect.max_delay: 10s is below initial_delay 20s; max_delay must be at least "
      "initial_delay (consumer group \"factory-a\")"}},
    {"MultiplierBelowMinimum",
     group_a("    reconnect: {multiplier: 0.5}\n"),
     {"{file}:8:29: consumer_groups[0].reconnect.multiplier: 0.5 is below the minimum 1.0"}},
    {"JitterAboveMaximum",
     group_a("    reconnect: {jitter: 1.5}\n"),
     {"{file}:8:25: consumer_groups[0].reconnect.jitter: 1.5 is above the maximum 1.0"}},
    {"ReconnectNotAMap",
     group_a("    reconnect: fast\n"),
     {"{file}:8:16: consumer_groups[0].reconnect: expected a map of settings (indented key: value lines), got "
      "\"fast\""}},
    {"CaFileIsADirectory",
     group_a("    tls: {ca_file: {dir}/creds}\n"),
     {"{file}:8:20: consumer_groups[0].tls.ca_file: {dir}/creds is a directory, not a file"}},
    {"VerifyHostnameNotABoolean",
     group_a("    tls:\n      verify_hostname: maybe\n"),
     {"{file}:9:24: consumer_groups[0].tls.verify_hostname: expected true or false, got \"maybe\""}},
    {"OutputTypeUnknown",
     group_a("output:\n  type: syslog\n"),
     {"{file}:9:9: output.type: expected journald or stdout, got \"syslog\""}},
    {"SyslogIdentifierWithSpace",
     group_a("output:\n  syslog_identifier: iot amqpd\n"),
     {"{file}:9:22: output.syslog_identifier: must not contain spaces or other whitespace, got \"iot amqpd\""}},
    {"MetricsTextfileRelative",
     group_a("metrics:\n  textfile: metrics.prom\n"),
     {"{file}:9:13: metrics.textfile: must be an absolute path such as /run/iot-amqpd/metrics.prom, got "
      "\"metrics.prom\""}},
    {"LogLevelUnknown",
     group_a("log:\n  level: verbose\n"),
     {"{file}:9:10: log.level: expected trace, debug, info, warn or error, got \"verbose\""}},
    {"DuplicateGroupName",
     group_a("  - name: factory-a\n    consumer_group_id: CG0002\n"),
     {"{file}:8:11: consumer_groups[1].name: duplicate group name \"factory-a\": consumer_groups[0] (line 6) "
      "already uses it; group names must be unique"}},
    {"GroupNameWithSpace",
     head("consumer_groups:\n  - name: factory a\n    consumer_group_id: CG0001\n"),
     {"{file}:6:11: consumer_groups[0].name: \"factory a\" may contain only letters, digits, '_', '.' and '-' (it "
      "appears in logs, journal fields and client ids)"}},
    {"ConsumerGroupIdWithSeparator",
     head("consumer_groups:\n  - name: factory-a\n    consumer_group_id: CG|0001\n"),
     {"{file}:7:24: consumer_groups[0].consumer_group_id: must not contain '|': " + kSeparators}},
    {"InstanceIdWithSeparator",
     group_a("    iot_instance_id: iot-1,iot-2\n"),
     {"{file}:8:22: consumer_groups[0].iot_instance_id: must not contain ',': " + kSeparators}},
    {"ClientIdUnknownPlaceholder",
     group_a("    client_id: \"%h-%g\"\n"),
     {"{file}:8:16: consumer_groups[0].client_id: unknown placeholder %h; use %H (host name), %g (group name) or "
      "%% (a literal %)"}},
    {"ClientIdSharedByTwoGroups",
     head("  client_id: shared\n") + std::string(kGroupA) + std::string(kGroupB),
     {"{file}:5:14: defaults.client_id: consumer group \"factory-b\" would use client id \"shared\", which consumer "
      "group \"factory-a\" already uses; every connection needs its own client id (put %g in client_id)"}},
    {"ClientIdTooLong",
     head("consumer_groups:\n  - name: " + kTooLongName +
          "\n    consumer_group_id: CG1\n"
          "    connections: 10\n"),
     {"{file}:6:5: consumer_groups[0].client_id: the client id \"gw1-" + kTooLongName +
      "-1\" is 66 characters long; the cloud allows at most 64 (shorten client_id, the group name or the host "
      "name)"}},
    // yaml-cpp notices the unclosed '[' of line 8 where the next key's ':' appears.
    {"YamlSyntaxError",
     group_a("    credit: [1\n    heartbeat: 60s\n"),
     {"{file}:9:14: YAML syntax error: end of sequence flow not found"}},
    {"YamlBadIndentation",
     group_a("    credit: 5\n      heartbeat: 60s\n"),
     {"{file}:9:16: YAML syntax error: illegal map value"}},
    {"GroupListEmpty",
     head("consumer_groups: []\n"),
     {"{file}:5:18: consumer_groups: the list is empty; add at least one consumer group with a name and the "
      "keys of its cloud"}},
    {"GroupListMissing",
     head("log: {level: info}\n"),
     {"{file}:1:1: consumer_groups: missing: add at least one consumer group with a name and the keys of its cloud"}},
    {"GroupListIsAMap",
     head("consumer_groups:\n  name: factory-a\n"),
     {"{file}:6:3: consumer_groups: expected a list of consumer groups (items starting with \"- name:\"), got a "
      "map"}},
    {"GroupIsAScalar",
     head("consumer_groups:\n  - factory-a\n"),
     {"{file}:6:5: consumer_groups[0]: expected a consumer group (a map with name, consumer_group_id, ...), got "
      "\"factory-a\""}},
    {"SecondYamlDocument",
     group_a("---\nlog: {level: info}\n"),
     {"{file}:9:1: a second YAML document starts here (after ---); keep the whole configuration in one document"}},
    {"EmptyFile", "", {"{file}: the file is empty; it needs at least a consumer_groups: list"}},
    {"TopLevelIsAList",
     "- name: factory-a\n",
     {"{file}:1:1: expected a map with consumer_groups: (and optionally defaults:, output:, metrics:, log:), got a "
      "list"}},
    {"SecretPastedUnderTheWrongKeyIsHidden",
     group_a("    access_key_secret: S3cr3t-Zebra-Quokka-4711\n    credit: S3cr3t-Zebra-Quokka-4711\n"),
     {"{file}:9:13: consumer_groups[0].credit: expected an integer, got \"(secret hidden)\""}},
};

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
    return text;
}

// A directory with the files the bad configs point at.
class BadConfigFiles : public ::testing::Test {
protected:
    void SetUp() override {
        test::write_file(dir_ / "secret", std::string(kSecret) + "\n");
        test::write_file(dir_ / "blank", "\n  \n");
        fs::create_directory(dir_ / "creds");
        test::write_file(dir_ / "creds" / "ak", kSecret);
    }

    std::string fill(std::string text) const {
        text = replace_all(std::move(text), "{file}", file_.string());
        return replace_all(std::move(text), "{dir}", dir_.path().string());
    }

    test::TempDir dir_{"iot-config"};
    fs::path file_ = dir_ / "iot-amqpd.yaml";
};

class BadConfigFile : public BadConfigFiles, public ::testing::WithParamInterface<BadFile> {};

TEST_P(BadConfigFile, IsRejectedWithTheExactMessages) {
    const BadFile& bad = GetParam();
    test::write_file(file_, fill(bad.yaml));
    LoadEnvironment env;
    env.host_name = "gw1";
    if (bad.credentials_directory) env.credentials_directory = (dir_ / "creds").string();

    const LoadResult result = load_config(file_.string(), env);

    EXPECT_FALSE(result.ok());
    EXPECT_EQ(result.config, nullptr);
    std::vector<std::string> messages;
    for (const ConfigError& error : result.errors) messages.push_back(error.to_string());
    std::vector<std::string> expected;
    for (const std::string& text : bad.expected) expected.push_back(fill(text));
    EXPECT_EQ(messages, expected);
    for (const std::string& message : messages) EXPECT_EQ(message.find(kSecret), std::string::npos) << message;
}

INSTANTIATE_TEST_SUITE_P(Table, BadConfigFile, ::testing::ValuesIn(kBadFiles),
                         [](const ::testing::TestParamInfo<BadFile>& param) { return param.param.name; });

TEST_F(BadConfigFiles, TheTableHoldsAtLeastThirtyDistinctCases) {
    std::set<std::string> files;
    for (const BadFile& bad : kBadFiles) files.insert(bad.yaml);
    EXPECT_GE(files.size(), 30U);
    EXPECT_EQ(files.size(), kBadFiles.size());
}

TEST_F(BadConfigFiles, EveryErrorInOneFileIsReportedInFileOrder) {
    const fs::path& file = file_;
    test::write_file(file,
                     "defaults:\n"                                      // 1
                     "  endpoint: amqp://iot.example.com\n"             // 2
                     "  access_key_id: LTAI5tTestKeyId\n"               // 3
                     "  access_key_secret: S3cr3t-Zebra-Quokka-4711\n"  // 4
                     "  reconnect: {jiter: 0.3}\n"                      // 5
                     "consumer_groups:\n"                               // 6
                     "  - name: factory-a\n"                            // 7
                     "    consumer_group_id: CG0001\n"                  // 8
                     "    heartbeat: 10s\n"                             // 9
                     "  - name: factory-a\n"                            // 10
                     "    connections: two\n"                           // 11
                     "log:\n"                                           // 12
                     "  level: loud\n");                                // 13
    LoadEnvironment env;
    env.host_name = "gw1";

    const LoadResult result = load_config(file.string(), env);

    const std::string at = file.string() + ":";
    const std::vector<std::string> expected = {
        at + "2:13: defaults.endpoint: plain amqp:// is not allowed: the cloud requires TLS, use amqps:// (port 5671)",
        at + "5:15: defaults.reconnect.jiter: unknown key (did you mean \"jitter\"?)",
        at + "9:16: consumer_groups[0].heartbeat: 10s is below the minimum 30s",
        at + "10:5: " + replace_all(kMissingGroupId, "[0]", "[1]"),
        at + "10:11: consumer_groups[1].name: duplicate group name \"factory-a\": consumer_groups[0] (line 7) "
             "already uses it; group names must be unique",
        at + "11:18: consumer_groups[1].connections: expected an integer, got \"two\"",
        at + "13:10: log.level: expected trace, debug, info, warn or error, got \"loud\"",
    };
    std::vector<std::string> messages;
    for (const ConfigError& error : result.errors) messages.push_back(error.to_string());
    EXPECT_EQ(messages, expected);
    EXPECT_EQ(result.config, nullptr);
    for (const std::string& message : messages) EXPECT_EQ(message.find(kSecret), std::string::npos);
    for (const std::string& warning : result.warnings) EXPECT_EQ(warning.find(kSecret), std::string::npos);
}

TEST_F(BadConfigFiles, ErrorsCarryTheirPartsSeparately) {
    test::write_file(file_, fill(group_a("    heartbeat: 10s\n")));
    const LoadResult result = load_config(file_.string(), LoadEnvironment{"gw1", ""});
    ASSERT_EQ(result.errors.size(), 1U);
    const ConfigError* heartbeat = &result.errors.front();
    EXPECT_EQ(heartbeat->key_path, "consumer_groups[0].heartbeat");
    EXPECT_EQ(heartbeat->file, file_.string());
    EXPECT_EQ(heartbeat->line, 8);
    EXPECT_EQ(heartbeat->column, 16);
    EXPECT_EQ(heartbeat->reason, "10s is below the minimum 30s");
}

}  // namespace
}  // namespace iot
