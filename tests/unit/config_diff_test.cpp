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

// A group as the loader leaves it for the comparison: the keys as written,
// with the secret file's content digest.
GroupConfig group(const std::string& name, const std::string& secret = "secret-one") {
    GroupConfig g;
    g.name = name;
    g.endpoint = "amqps://127.0.0.1:5671";
    g.host = "127.0.0.1";
    g.client_ids = {"gw1-" + name};
    g.written = {{"name", name},
                 {"cloud", "aliyun"},
                 {"consumer_group_id", "CG-" + name},
                 {"endpoint", g.endpoint},
                 {"access_key_id", "LTAI5tTestKeyId"},
                 {"access_key_secret_file", "/etc/iot-amqpd/access-key-secret#" + content_digest(secret)}};
    return g;
}

Config config_of(std::vector<GroupConfig> groups) {
    Config config;
    config.groups = std::move(groups);
    return config;
}

TEST(SameSettings, EqualGroupsAreTheSame) { EXPECT_TRUE(group("a").same_settings(group("a"))); }

TEST(SameSettings, ClientIdsCountThoughNotWritten) {
    GroupConfig other_host = group("a");
    other_host.client_ids = {"gw2-a"};  // %H expands to another host name
    EXPECT_FALSE(group("a").same_settings(other_host));
}

TEST(DiffConfigs, SortsGroupsIntoAddedRemovedChangedUnchanged) {
    GroupConfig c_changed = group("c");
    c_changed.written["credit"] = "500";
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
