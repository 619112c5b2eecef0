// The reload plan (DESIGN.md §7): which groups to start, stop, restart or keep,
// and which settings only a restart can apply.
#include "iot-amqpd/config_diff.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "temp_dir.hpp"

namespace iot {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Names = std::vector<std::string>;

GroupConfig group(const std::string& name, const std::string& secret = "secret-one") {
    GroupConfig g;
    g.name = name;
    g.consumer_group_id = "CG-" + name;
    g.endpoint = "amqps://127.0.0.1:5671";
    g.host = "127.0.0.1";
    g.access_key_id = "LTAI5tTestKeyId";
    g.secret_source = SecretSource::file;
    g.secret_path = "/etc/iot-amqpd/access-key-secret";
    g.access_key_secret = std::make_shared<const Secret>(secret);
    g.secret_digest = content_digest(secret);
    g.client_ids = {"gw1-" + name};
    return g;
}

Config config_of(std::vector<GroupConfig> groups) {
    Config config;
    config.groups = std::move(groups);
    return config;
}

TEST(SameSettings, EqualGroupsAreTheSame) { EXPECT_TRUE(group("a").same_settings(group("a"))); }

TEST(SameSettings, SecretsAreComparedByDigestNotByPointer) {
    const GroupConfig a = group("a", "secret-one");
    EXPECT_TRUE(a.same_settings(group("a", "secret-one")));
    EXPECT_FALSE(a.same_settings(group("a", "secret-two")));
    GroupConfig without = group("a");
    without.access_key_secret = nullptr;
    without.secret_digest.clear();
    EXPECT_FALSE(a.same_settings(without));
    EXPECT_FALSE(without.same_settings(a));
    EXPECT_EQ(a.secret_digest.size(), 32u);  // SHA-256, never the text
    EXPECT_EQ(a.secret_digest.find("secret-one"), std::string::npos);
}

// Issue 15: the STS token is part of a group's identity by its digest.
TEST(SameSettings, ChangedSecurityTokenCounts) {
    GroupConfig a = group("a");
    a.auth_mode = AuthMode::ststoken;
    a.security_token_file = "/run/token";
    a.security_token_digest = content_digest("STS.old");
    GroupConfig b = a;
    EXPECT_TRUE(a.same_settings(b));
    b.security_token_digest = content_digest("STS.new");
    EXPECT_FALSE(a.same_settings(b));
}

// Every setting a running group depends on makes it "changed".
TEST(SameSettings, AnyChangedSettingCounts) {
    const std::vector<void (*)(GroupConfig&)> changes = {
        [](GroupConfig& g) { g.consumer_group_id = "other"; },
        [](GroupConfig& g) { g.endpoint = "amqps://127.0.0.1:5672"; },
        [](GroupConfig& g) { g.port = 5672; },
        [](GroupConfig& g) { g.access_key_id = "LTAI5tOther"; },
        [](GroupConfig& g) { g.secret_source = SecretSource::credential; },
        [](GroupConfig& g) { g.secret_path = "/elsewhere"; },
        [](GroupConfig& g) { g.auth_mode = AuthMode::ststoken; },
        [](GroupConfig& g) { g.security_token_file = "/run/token"; },
        [](GroupConfig& g) { g.sign_method = SignMethod::hmacsha1; },
        [](GroupConfig& g) { g.iot_instance_id = "iot-1"; },
        [](GroupConfig& g) { g.client_id_pattern = "%g"; },
        [](GroupConfig& g) { g.client_ids = {"other"}; },
        [](GroupConfig& g) { g.connections = 2; },
        [](GroupConfig& g) { g.heartbeat = 30s; },
        [](GroupConfig& g) { g.credit = 7; },
        [](GroupConfig& g) { g.reconnect.initial_delay = 2s; },
        [](GroupConfig& g) { g.reconnect.max_delay = 2min; },
        [](GroupConfig& g) { g.reconnect.multiplier = 3.0; },
        [](GroupConfig& g) { g.reconnect.jitter = 0.5; },
        [](GroupConfig& g) { g.tls.ca_file = "/etc/ca.pem"; },
        [](GroupConfig& g) { g.tls.verify_hostname = false; },
        [](GroupConfig& g) { g.dedup_window = 0; },
    };
    for (std::size_t i = 0; i < changes.size(); ++i) {
        GroupConfig changed = group("a");
        changes[i](changed);
        EXPECT_FALSE(group("a").same_settings(changed)) << "change #" << i;
    }
}

TEST(DiffConfigs, SortsGroupsIntoAddedRemovedChangedUnchanged) {
    GroupConfig c_changed = group("c");
    c_changed.credit = 500;
    const Config running = config_of({group("a"), group("b"), group("c")});
    const Config next = config_of({group("d"), c_changed, group("b")});

    const ConfigDiff diff = diff_configs(running, next);

    EXPECT_EQ(diff.added, Names{"d"});
    EXPECT_EQ(diff.removed, Names{"a"});
    EXPECT_EQ(diff.changed, Names{"c"});
    EXPECT_EQ(diff.unchanged, Names{"b"});
    EXPECT_FALSE(diff.groups_unchanged());
    EXPECT_TRUE(diff.restart_required.empty());
}

TEST(DiffConfigs, AnIdenticalFileChangesNothing) {
    const Config running = config_of({group("a"), group("b"), group("c")});
    const ConfigDiff diff = diff_configs(running, config_of({group("a"), group("b"), group("c")}));
    EXPECT_TRUE(diff.groups_unchanged());
    EXPECT_EQ(diff.unchanged, (Names{"a", "b", "c"}));
    EXPECT_TRUE(diff.restart_required.empty());
    EXPECT_FALSE(diff.log_level_changed);
    EXPECT_FALSE(diff.metrics_changed);
}

TEST(DiffConfigs, ChangedSecretContentRestartsOnlyThatGroup) {
    const Config running = config_of({group("a", "old-secret"), group("b", "old-secret")});
    const Config next = config_of({group("a", "fixed-secret"), group("b", "old-secret")});
    const ConfigDiff diff = diff_configs(running, next);
    EXPECT_EQ(diff.changed, Names{"a"});
    EXPECT_EQ(diff.unchanged, Names{"b"});
    EXPECT_TRUE(diff.added.empty());
    EXPECT_TRUE(diff.removed.empty());
}

TEST(DiffConfigs, OutputChangesNeedARestartAndKeepTheOldValue) {
    Config running = config_of({group("a")});
    Config next = config_of({group("a")});
    next.output.type = OutputType::stdout_jsonl;
    next.output.syslog_identifier = "iot-msg";

    const ConfigDiff diff = diff_configs(running, next);

    EXPECT_EQ(diff.restart_required,
              (Names{"output.type changed from \"journald\" to \"stdout\", which reload cannot apply: the daemon "
                     "keeps using \"journald\" until it is restarted (systemctl restart iot-amqpd)",
                     "output.syslog_identifier changed from \"iot-amqpd-msg\" to \"iot-msg\", which reload cannot "
                     "apply: the daemon keeps using \"iot-amqpd-msg\" until it is restarted (systemctl restart "
                     "iot-amqpd)"}));
    EXPECT_EQ(diff.unchanged, Names{"a"});

    const Config installed = keep_restart_only_settings(running, next);
    EXPECT_EQ(installed.output.type, OutputType::journald);
    EXPECT_EQ(installed.output.syslog_identifier, "iot-amqpd-msg");
}

TEST(DiffConfigs, LogLevelAndMetricsAreReloadable) {
    const Config running = config_of({group("a")});
    Config next = running;
    EXPECT_FALSE(diff_configs(running, next).log_level_changed);
    EXPECT_FALSE(diff_configs(running, next).metrics_changed);
    next.log_level = LogLevel::debug;
    next.metrics.interval = 5s;
    const ConfigDiff diff = diff_configs(running, next);
    EXPECT_TRUE(diff.log_level_changed);
    EXPECT_TRUE(diff.metrics_changed);
    EXPECT_TRUE(diff.restart_required.empty());
    EXPECT_EQ(keep_restart_only_settings(running, next).log_level, LogLevel::debug);
}

// The whole path an operator takes: fix the secret file, reload.
TEST(DiffConfigs, FixingTheSecretFileOnDiskMakesTheGroupChanged) {
    test::TempDir dir("iot-config");
    test::write_file(dir / "secret", "wrong-secret\n");
    test::write_file(dir / "iot-amqpd.yaml",
                     "defaults:\n  endpoint: amqps://127.0.0.1\n  access_key_id: LTAI5tTestKeyId\n"
                     "  access_key_secret_file: " +
                         (dir / "secret").string() +
                         "\n"
                         "consumer_groups:\n  - name: a\n    consumer_group_id: CG-A\n"
                         "  - name: b\n    consumer_group_id: CG-B\n    access_key_secret: inline-secret\n");
    const LoadEnvironment env{"gw1", ""};
    const LoadResult before = load_config((dir / "iot-amqpd.yaml").string(), env);
    ASSERT_TRUE(before.ok());

    EXPECT_EQ(diff_configs(*before.config, *load_config((dir / "iot-amqpd.yaml").string(), env).config).unchanged,
              (Names{"a", "b"}));

    test::write_file(dir / "secret", "right-secret\n");
    const LoadResult after = load_config((dir / "iot-amqpd.yaml").string(), env);
    ASSERT_TRUE(after.ok());
    const ConfigDiff diff = diff_configs(*before.config, *after.config);
    EXPECT_EQ(diff.changed, Names{"a"});
    EXPECT_EQ(diff.unchanged, Names{"b"});
}

// Issue 15: a reload after the STS token file changed restarts the group at
// once (before, it waited for the group's backoff with the old token).
TEST(DiffConfigs, ChangedStsTokenFileOnDiskMakesTheGroupChanged) {
    test::TempDir dir("iot-config");
    test::write_file(dir / "secret", "the-secret\n");
    test::write_file(dir / "token", "STS.expired-token\n");
    test::write_file(dir / "iot-amqpd.yaml",
                     "defaults:\n  endpoint: amqps://127.0.0.1\n  access_key_id: LTAI5tTestKeyId\n"
                     "  access_key_secret_file: " +
                         (dir / "secret").string() +
                         "\n  auth_mode: ststoken\n  security_token_file: " + (dir / "token").string() +
                         "\n"
                         "consumer_groups:\n  - name: a\n    consumer_group_id: CG-A\n"
                         "  - name: b\n    consumer_group_id: CG-B\n    auth_mode: aksign\n");
    const LoadEnvironment env{"gw1", ""};
    const LoadResult before = load_config((dir / "iot-amqpd.yaml").string(), env);
    ASSERT_TRUE(before.ok()) << (before.errors.empty() ? "" : before.errors.front().to_string());
    EXPECT_EQ(diff_configs(*before.config, *load_config((dir / "iot-amqpd.yaml").string(), env).config).unchanged,
              (Names{"a", "b"}));

    test::write_file(dir / "token", "STS.fresh-token\n");
    const LoadResult after = load_config((dir / "iot-amqpd.yaml").string(), env);
    ASSERT_TRUE(after.ok());
    const ConfigDiff diff = diff_configs(*before.config, *after.config);
    EXPECT_EQ(diff.changed, Names{"a"});
    EXPECT_EQ(diff.unchanged, Names{"b"});
}

}  // namespace
}  // namespace iot
