// Valid configs: what the loader builds from them (DESIGN.md §4).
// The rejected files and their messages are in config_errors_test.cpp.
#include "iot-amqpd/config.hpp"
#include "iot-amqpd/clouds/aliyun.hpp"

#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <climits>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

#include "temp_dir.hpp"

namespace iot {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr std::string_view kSecret = "S3cr3t-Zebra-Quokka-4711";

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
    return text;
}

std::string messages_of(const LoadResult& result) {
    std::string text;
    for (const ConfigError& error : result.errors) text += error.to_string() + "\n";
    return text;
}

// The errors load_config reports for `path` to an ordinary user, one per line.
// The daemon never runs as root, but the tests may (CI does), and root reads
// every file: then a child process becomes user nobody, loads there and sends
// its errors back through a pipe. A line starting with "setup:" means the
// child could not be set up.
std::string load_errors_as_ordinary_user(const std::string& path, const LoadEnvironment& env) {
    if (::geteuid() != 0) return messages_of(load_config(path, env));
    constexpr uid_t kNobody = 65534;
    constexpr int kDeadlineMs = 10'000;
    std::array<int, 2> pipe_fds{};
    if (::pipe2(pipe_fds.data(), O_CLOEXEC) != 0) return "setup: pipe2 failed\n";
    const pid_t child = ::fork();
    if (child < 0) {
        ::close(pipe_fds[0]);
        ::close(pipe_fds[1]);
        return "setup: fork failed\n";
    }
    if (child == 0) {
        std::string text;
        // setgroups first: afterwards the child may no longer drop root's supplementary groups.
        if (::setgroups(0, nullptr) != 0 || ::setgid(kNobody) != 0 || ::setuid(kNobody) != 0 || ::geteuid() == 0) {
            text = "setup: cannot become user nobody\n";
        } else {
            try {
                text = messages_of(load_config(path, env));
            } catch (const std::exception& e) {
                text = std::string("setup: load_config threw: ") + e.what() + "\n";
            }
        }
        for (std::size_t sent = 0; sent < text.size();) {
            const ssize_t n = ::write(pipe_fds[1], text.data() + sent, text.size() - sent);
            if (n <= 0) break;
            sent += static_cast<std::size_t>(n);
        }
        ::_exit(0);  // not exit(): the parent's atexit handlers and buffers are not the child's to run
    }
    ::close(pipe_fds[1]);
    std::string text;
    pollfd readable{pipe_fds[0], POLLIN, 0};
    std::array<char, 512> buffer{};
    for (;;) {
        if (::poll(&readable, 1, kDeadlineMs) <= 0) {
            ::kill(child, SIGKILL);
            text += "setup: no answer from the child within 10 s\n";
            break;
        }
        const ssize_t n = ::read(pipe_fds[0], buffer.data(), buffer.size());
        if (n <= 0) break;
        text.append(buffer.data(), static_cast<std::size_t>(n));
    }
    ::close(pipe_fds[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    return text;
}

class ConfigLoad : public ::testing::Test {
protected:
    void SetUp() override {
        test::write_file(dir_ / "secret", std::string(kSecret) + "\n");
        test::write_file(dir_ / "other-secret", "other-secret-value \t\n\n");
        test::write_file(dir_ / "token", "STS.TOKEN.EXAMPLE\n");
        test::write_file(dir_ / "ca.pem", "-----BEGIN CERTIFICATE-----\n");
        fs::create_directory(dir_ / "creds");
        test::write_file(dir_ / "creds" / "ak", "credential-secret-value");
        env_.host_name = "gw1";
        env_.credentials_directory = (dir_ / "creds").string();
    }

    // {dir} in `yaml` becomes the test's directory.
    LoadResult load(const std::string& yaml, fs::perms mode = fs::perms::owner_read | fs::perms::owner_write) {
        test::write_file(file_, replace_all(yaml, "{dir}", dir_.path().string()), mode);
        return load_config(file_.string(), env_);
    }

    // Loads a file that must be valid and returns its config.
    std::shared_ptr<const Config> load_ok(const std::string& yaml) {
        LoadResult result = load(yaml);
        EXPECT_TRUE(result.ok()) << messages_of(result);
        EXPECT_TRUE(result.errors.empty());
        return result.config;
    }

    test::TempDir dir_{"iot-config"};
    fs::path file_ = dir_ / "iot-amqpd.yaml";
    LoadEnvironment env_;
};

const std::string kMinimal =
    "defaults:\n"
    "  endpoint: amqps://iot-06z00abcdef.amqp.iothub.aliyuncs.com\n"
    "  access_key_id: LTAI5tTestKeyId\n"
    "  access_key_secret_file: {dir}/secret\n"
    "consumer_groups:\n"
    "  - name: a\n"
    "    consumer_group_id: CG-A\n";

TEST_F(ConfigLoad, MinimalFileGetsTheBuiltInDefaults) {
    const auto config = load_ok(kMinimal);
    ASSERT_NE(config, nullptr);
    EXPECT_EQ(config->path, file_.string());
    ASSERT_EQ(config->groups.size(), 1U);
    const GroupConfig& a = config->groups[0];
    EXPECT_EQ(a.host, "iot-06z00abcdef.amqp.iothub.aliyuncs.com");
    EXPECT_EQ(a.port, 5671);
    EXPECT_EQ(aliyun_of(a).auth_mode, AuthMode::aksign);
    EXPECT_EQ(aliyun_of(a).sign_method, SignMethod::hmacsha256);
    EXPECT_EQ(aliyun_of(a).iot_instance_id, "");
    EXPECT_EQ(a.client_id_pattern, "%H-%g");
    EXPECT_EQ(a.client_ids, std::vector<std::string>{"gw1-a"});
    EXPECT_EQ(a.connections, 1);
    EXPECT_EQ(a.heartbeat, 60s);
    EXPECT_EQ(a.credit, 500);
    EXPECT_EQ(a.memory_budget, 8 << 20);
    EXPECT_EQ(a.reconnect.initial_delay, 1s);
    EXPECT_EQ(a.reconnect.max_delay, 60s);
    EXPECT_DOUBLE_EQ(a.reconnect.multiplier, 2.0);
    EXPECT_DOUBLE_EQ(a.reconnect.jitter, 0.2);
    EXPECT_EQ(a.tls.ca_file, "");
    EXPECT_TRUE(a.tls.verify_hostname);
    EXPECT_EQ(a.dedup_window, 10000U);
    EXPECT_EQ(config->output.type, OutputType::journald);
    EXPECT_EQ(config->output.syslog_identifier, "iot-amqpd-msg");
    EXPECT_EQ(config->metrics.textfile, "");
    EXPECT_EQ(config->metrics.interval, 15s);
    EXPECT_EQ(config->log_level, LogLevel::info);
}

const std::string kComplete =
    "defaults:\n"
    "  endpoint: amqps://iot-06z00abcdef.amqp.iothub.aliyuncs.com:5671\n"
    "  access_key_id: LTAI5tTestKeyId\n"
    "  access_key_secret_file: {dir}/secret\n"
    "  auth_mode: aksign\n"
    "  sign_method: hmacsha1\n"
    "  iot_instance_id: iot-06z00abcdef\n"
    "  client_id: \"%H-%g\"\n"
    "  connections: 2\n"
    "  heartbeat: 90s\n"
    "  credit: 200\n"
    "  reconnect: {initial_delay: 2s, max_delay: 2m, multiplier: 3.0, jitter: 0.1}\n"
    "  tls: {ca_file: {dir}/ca.pem, verify_hostname: true}\n"
    "  dedup_window: 5000\n"
    "consumer_groups:\n"
    "  - name: factory-a\n"
    "    consumer_group_id: CG-A\n"
    "  - name: factory.b_2\n"
    "    consumer_group_id: CG-B\n"
    "    endpoint: amqps://[::1]:5672\n"
    "    access_key_id: LTAI5tOtherKeyId\n"
    "    access_key_secret_credential: ak\n"
    "    auth_mode: StsToken\n"
    "    security_token_file: {dir}/token\n"
    "    sign_method: HmacMD5\n"
    "    iot_instance_id: \"\"\n"
    "    client_id: \"edge-%g-100%%\"\n"
    "    connections: 1\n"
    "    heartbeat: 300s\n"
    "    credit: 10000\n"
    "    reconnect:\n"
    "      max_delay: 1h\n"
    "    tls:\n"
    "      verify_hostname: false\n"
    "    dedup_window: 0\n"
    "output:\n"
    "  type: stdout\n"
    "  syslog_identifier: iot-msg\n"
    "metrics:\n"
    "  textfile: /run/iot-amqpd/metrics.prom\n"
    "  interval: 1m\n"
    "log:\n"
    "  level: debug\n";

TEST_F(ConfigLoad, CompleteFileWithDefaultsAndOverrides) {
    const auto config = load_ok(kComplete);
    ASSERT_NE(config, nullptr);
    ASSERT_EQ(config->groups.size(), 2U);

    const GroupConfig& a = config->groups[0];  // everything from defaults
    EXPECT_EQ(a.name, "factory-a");
    EXPECT_EQ(aliyun_of(a).consumer_group_id, "CG-A");
    EXPECT_EQ(a.endpoint, "amqps://iot-06z00abcdef.amqp.iothub.aliyuncs.com:5671");
    EXPECT_EQ(aliyun_of(a).access_key_id, "LTAI5tTestKeyId");
    EXPECT_EQ(aliyun_of(a).secret_source, SecretSource::file);
    EXPECT_EQ(aliyun_of(a).secret_path, (dir_ / "secret").string());
    ASSERT_NE(aliyun_of(a).access_key_secret, nullptr);
    EXPECT_EQ(aliyun_of(a).access_key_secret->reveal(), kSecret);
    EXPECT_EQ(aliyun_of(a).sign_method, SignMethod::hmacsha1);
    EXPECT_EQ(aliyun_of(a).iot_instance_id, "iot-06z00abcdef");
    EXPECT_EQ(a.client_ids, (std::vector<std::string>{"gw1-factory-a-1", "gw1-factory-a-2"}));
    EXPECT_EQ(a.heartbeat, 90s);
    EXPECT_EQ(a.credit, 200);
    EXPECT_EQ(a.reconnect.initial_delay, 2s);
    EXPECT_EQ(a.reconnect.max_delay, 2min);
    EXPECT_DOUBLE_EQ(a.reconnect.multiplier, 3.0);
    EXPECT_DOUBLE_EQ(a.reconnect.jitter, 0.1);
    EXPECT_EQ(a.tls.ca_file, (dir_ / "ca.pem").string());
    EXPECT_EQ(a.dedup_window, 5000U);

    const GroupConfig& b = config->groups[1];  // overrides everything it can
    EXPECT_EQ(b.host, "::1");
    EXPECT_EQ(b.port, 5672);
    EXPECT_EQ(aliyun_of(b).access_key_id, "LTAI5tOtherKeyId");
    EXPECT_EQ(aliyun_of(b).secret_source, SecretSource::credential);
    EXPECT_EQ(aliyun_of(b).secret_path, "ak");
    EXPECT_EQ(aliyun_of(b).access_key_secret->reveal(), "credential-secret-value");
    EXPECT_EQ(aliyun_of(b).auth_mode, AuthMode::ststoken);
    EXPECT_EQ(aliyun_of(b).security_token_file, (dir_ / "token").string());
    EXPECT_EQ(aliyun_of(b).sign_method, SignMethod::hmacmd5);
    EXPECT_EQ(aliyun_of(b).iot_instance_id, "");
    EXPECT_EQ(b.client_ids, std::vector<std::string>{"edge-factory.b_2-100%"});
    EXPECT_EQ(b.heartbeat, 300s);
    EXPECT_EQ(b.credit, 10000);
    EXPECT_EQ(b.reconnect.initial_delay, 2s);  // reconnect merges key by key
    EXPECT_EQ(b.reconnect.max_delay, 1h);
    EXPECT_DOUBLE_EQ(b.reconnect.multiplier, 3.0);
    EXPECT_EQ(b.tls.ca_file, (dir_ / "ca.pem").string());  // so does tls
    EXPECT_FALSE(b.tls.verify_hostname);
    EXPECT_EQ(b.dedup_window, 0U);

    EXPECT_EQ(config->output.type, OutputType::stdout_jsonl);
    EXPECT_EQ(config->output.syslog_identifier, "iot-msg");
    EXPECT_EQ(config->metrics.textfile, "/run/iot-amqpd/metrics.prom");
    EXPECT_EQ(config->metrics.interval, 60s);
    EXPECT_EQ(config->log_level, LogLevel::debug);
}

TEST_F(ConfigLoad, GroupsInheritingTheDefaultSecretShareOneCopy) {
    const auto config = load_ok(kMinimal + "  - name: b\n    consumer_group_id: CG-B\n");
    ASSERT_NE(config, nullptr);
    ASSERT_EQ(config->groups.size(), 2U);
    EXPECT_EQ(aliyun_of(config->groups[0]).access_key_secret, aliyun_of(config->groups[1]).access_key_secret);
}

TEST_F(ConfigLoad, AGroupsSecretSourceReplacesTheDefaultOne) {
    const auto config = load_ok(kMinimal +
                                "  - name: b\n    consumer_group_id: CG-B\n"
                                "    access_key_secret: inline-secret-value\n"
                                "  - name: c\n    consumer_group_id: CG-C\n"
                                "    access_key_secret_file: {dir}/other-secret\n");
    ASSERT_NE(config, nullptr);
    ASSERT_EQ(config->groups.size(), 3U);
    EXPECT_EQ(aliyun_of(config->groups[1]).secret_source, SecretSource::inline_value);
    EXPECT_EQ(aliyun_of(config->groups[1]).secret_path, "");
    EXPECT_EQ(aliyun_of(config->groups[1]).access_key_secret->reveal(), "inline-secret-value");
    EXPECT_EQ(aliyun_of(config->groups[2]).secret_source, SecretSource::file);
    // Trailing white space (the editor's final newline) is not part of the secret.
    EXPECT_EQ(aliyun_of(config->groups[2]).access_key_secret->reveal(), "other-secret-value");
}

TEST_F(ConfigLoad, EmptySectionsMeanDefaults) {
    const auto config = load_ok(kMinimal + "    reconnect:\n    tls:\noutput:\nmetrics:\nlog:\n");
    ASSERT_NE(config, nullptr);
    EXPECT_EQ(config->groups[0].reconnect.max_delay, 60s);
    EXPECT_EQ(config->output.syslog_identifier, "iot-amqpd-msg");
}

TEST_F(ConfigLoad, EndpointWithoutPortUsesTheAmqpsPort) {
    const auto config = load_ok(replace_all(kMinimal, "aliyuncs.com", "aliyuncs.com/"));
    ASSERT_NE(config, nullptr);
    EXPECT_EQ(config->groups[0].host, "iot-06z00abcdef.amqp.iothub.aliyuncs.com");
    EXPECT_EQ(config->groups[0].port, 5671);
}

// ---- client ids ----------------------------------------------------------------

TEST_F(ConfigLoad, ClientIdPlaceholdersAndPerConnectionSuffixes) {
    const auto config = load_ok(kMinimal + "    client_id: \"%%%H.%g%%\"\n    connections: 3\n");
    ASSERT_NE(config, nullptr);
    EXPECT_EQ(config->groups[0].client_ids, (std::vector<std::string>{"%gw1.a%-1", "%gw1.a%-2", "%gw1.a%-3"}));
}

TEST_F(ConfigLoad, ClientIdsOfManyConnectionsAreAllDistinct) {
    const auto config = load_ok(kMinimal +
                                "    connections: 64\n  - name: b\n    consumer_group_id: CG-B\n"
                                "    connections: 64\n");
    ASSERT_NE(config, nullptr);
    std::set<std::string> ids;
    for (const GroupConfig& group : config->groups) ids.insert(group.client_ids.begin(), group.client_ids.end());
    EXPECT_EQ(ids.size(), 128U);
    EXPECT_EQ(config->groups[1].client_ids.back(), "gw1-b-64");
}

TEST_F(ConfigLoad, ClientIdCollisionFromConnectionSuffixNamesBothGroups) {
    const LoadResult result = load(kMinimal +
                                   "    client_id: x\n    connections: 2\n"
                                   "  - name: b\n    consumer_group_id: CG-B\n    client_id: x-2\n");
    ASSERT_EQ(result.errors.size(), 1U) << messages_of(result);
    EXPECT_EQ(result.errors[0].to_string(),
              file_.string() +
                  ":12:16: consumer_groups[1].client_id: consumer group \"b\" would use client id "
                  "\"x-2\", which consumer group \"a\" already uses; every connection needs its own "
                  "client id (put %g in client_id)");
}

TEST_F(ConfigLoad, ClientIdFromABadHostNameIsRefused) {
    env_.host_name = "gw|1";
    const LoadResult result = load(kMinimal);
    ASSERT_EQ(result.errors.size(), 1U) << messages_of(result);
    EXPECT_EQ(result.errors[0].to_string(),
              file_.string() +
                  ":6:5: consumer_groups[0].client_id: the client id \"gw|1-a\" contains '|', ',' or "
                  "'=', which the cloud's user name cannot carry (check the host name used for %H)");
}

TEST_F(ConfigLoad, ClientIdThatComesOutEmptyIsRefused) {
    env_.host_name = "";
    const LoadResult result = load(kMinimal + "    client_id: \"%H\"\n");
    ASSERT_EQ(result.errors.size(), 1U) << messages_of(result);
    EXPECT_EQ(result.errors[0].to_string(),
              file_.string() + ":8:16: consumer_groups[0].client_id: the client id comes out empty");
}

TEST_F(ConfigLoad, ClientIdOfExactlySixtyFourCharactersIsAccepted) {
    const auto config = load_ok(kMinimal + "    client_id: " + std::string(62, 'x') + "\n    connections: 9\n");
    ASSERT_NE(config, nullptr);
    EXPECT_EQ(config->groups[0].client_ids.back().size(), 64U);
}

// ---- files, permissions, secrets -----------------------------------------------

TEST_F(ConfigLoad, InlineSecretInAWorldReadableFileWarnsButLoads) {
    const std::string yaml =
        replace_all(kMinimal, "access_key_secret_file: {dir}/secret", "access_key_secret: S3cr3t-Zebra-Quokka-4711");
    const LoadResult result =
        load(yaml, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);
    EXPECT_TRUE(result.ok()) << messages_of(result);
    ASSERT_EQ(result.warnings.size(), 1U);
    EXPECT_EQ(result.warnings[0], file_.string() +
                                      " holds an inline access_key_secret and every user on this machine can read it "
                                      "(mode 0644): run chmod 0640 " +
                                      file_.string() +
                                      " (owner root, group iot-amqpd), or move the secret into access_key_secret_file");
    EXPECT_EQ(result.warnings[0].find(kSecret), std::string::npos);
}

TEST_F(ConfigLoad, InlineSecretInAPrivateFileDoesNotWarn) {
    const std::string yaml =
        replace_all(kMinimal, "access_key_secret_file: {dir}/secret", "access_key_secret: S3cr3t-Zebra-Quokka-4711");
    const LoadResult result = load(yaml, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
    EXPECT_TRUE(result.ok()) << messages_of(result);
    EXPECT_TRUE(result.warnings.empty());
}

TEST_F(ConfigLoad, WorldReadableFileWithoutInlineSecretDoesNotWarn) {
    const LoadResult result =
        load(kMinimal, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);
    EXPECT_TRUE(result.ok()) << messages_of(result);
    EXPECT_TRUE(result.warnings.empty());
}

TEST_F(ConfigLoad, MissingConfigFileIsOneErrorWithoutPosition) {
    const std::string path = (dir_ / "absent.yaml").string();
    const LoadResult result = load_config(path, env_);
    EXPECT_FALSE(result.ok());
    ASSERT_EQ(result.errors.size(), 1U);
    EXPECT_EQ(result.errors[0].line, 0);
    EXPECT_EQ(result.errors[0].to_string(), path + ": cannot read the config file: No such file or directory");
}

TEST_F(ConfigLoad, ConfigPathThatIsADirectoryIsRefused) {
    const LoadResult result = load_config(dir_.path().string(), env_);
    ASSERT_EQ(result.errors.size(), 1U);
    EXPECT_EQ(result.errors[0].to_string(), dir_.path().string() + ": the config file is a directory, not a file");
}

TEST_F(ConfigLoad, UnreadableConfigFileExplainsWhoMustReadIt) {
    test::write_file(file_, kMinimal, fs::perms::none);
    // Only the file's own mode may keep an ordinary user out, not the test's private directory.
    fs::permissions(dir_.path(), fs::perms::others_exec, fs::perm_options::add);
    EXPECT_EQ(load_errors_as_ordinary_user(file_.string(), env_),
              file_.string() +
                  ": cannot read the config file: Permission denied (the daemon runs as user iot-amqpd: make the file "
                  "readable by it, e.g. chgrp iot-amqpd FILE and chmod 0640 FILE)\n");
}

TEST_F(ConfigLoad, ReloadingReadsTheSecretFileAgain) {
    const auto before = load_ok(kMinimal);
    test::write_file(dir_ / "secret", "rotated-secret\n");
    const auto after = load_ok(kMinimal);
    ASSERT_NE(before, nullptr);
    ASSERT_NE(after, nullptr);
    EXPECT_EQ(aliyun_of(before->groups[0]).access_key_secret->reveal(), kSecret);
    EXPECT_EQ(aliyun_of(after->groups[0]).access_key_secret->reveal(), "rotated-secret");
}

// ---- the shipped example -------------------------------------------------------

TEST_F(ConfigLoad, ShippedExampleLoadsOnceItsSecretFileExists) {
    const auto example = test::read_file(fs::path(IOT_SOURCE_DIR) / "etc" / "iot-amqpd.yaml");
    ASSERT_TRUE(example.has_value());
    const std::string yaml = replace_all(*example, "/etc/iot-amqpd/access-key-secret", "{dir}/secret");
    ASSERT_NE(yaml, *example) << "the example no longer names /etc/iot-amqpd/access-key-secret";

    const auto config = load_ok(yaml);
    ASSERT_NE(config, nullptr);
    ASSERT_EQ(config->groups.size(), 1U);
    EXPECT_EQ(config->groups[0].name, "factory-a");
    EXPECT_EQ(aliyun_of(config->groups[0]).secret_source, SecretSource::file);
    EXPECT_EQ(config->groups[0].client_ids, std::vector<std::string>{"gw1-factory-a"});
}

TEST(ShippedExample, DocumentsEveryKey) {
    const auto example = test::read_file(fs::path(IOT_SOURCE_DIR) / "etc" / "iot-amqpd.yaml");
    ASSERT_TRUE(example.has_value());
    for (const char* key : {"defaults:",
                            "consumer_groups:",
                            "output:",
                            "metrics:",
                            "log:",
                            "endpoint:",
                            "access_key_id:",
                            "access_key_secret:",
                            "access_key_secret_file:",
                            "access_key_secret_credential:",
                            "auth_mode:",
                            "security_token_file:",
                            "sign_method:",
                            "iot_instance_id:",
                            "client_id:",
                            "connections:",
                            "heartbeat:",
                            "credit:",
                            "reconnect:",
                            "initial_delay:",
                            "max_delay:",
                            "multiplier:",
                            "jitter:",
                            "tls:",
                            "ca_file:",
                            "verify_hostname:",
                            "dedup_window:",
                            "name:",
                            "consumer_group_id:",
                            "type:",
                            "syslog_identifier:",
                            "textfile:",
                            "interval:",
                            "level:"})
        EXPECT_NE(example->find(key), std::string::npos) << key;
}

// ---- small helpers -------------------------------------------------------------

TEST_F(ConfigLoad, FindGroupByName) {
    const auto config = load_ok(kMinimal + "  - name: b\n    consumer_group_id: CG-B\n");
    ASSERT_NE(config, nullptr);
    ASSERT_NE(config->find_group("b"), nullptr);
    EXPECT_EQ(aliyun_of(*config->find_group("b")).consumer_group_id, "CG-B");
    EXPECT_EQ(config->find_group("c"), nullptr);
}

TEST(LoadEnvironment, FromProcessReadsHostNameAndCredentialsDirectory) {
    std::array<char, HOST_NAME_MAX + 1> host{};
    ASSERT_EQ(::gethostname(host.data(), host.size() - 1), 0);
    const char* saved = std::getenv("CREDENTIALS_DIRECTORY");
    const std::string restore = saved != nullptr ? saved : "";

    ::setenv("CREDENTIALS_DIRECTORY", "/run/credentials/iot-amqpd.service", 1);
    const LoadEnvironment with = LoadEnvironment::from_process();
    ::unsetenv("CREDENTIALS_DIRECTORY");
    const LoadEnvironment without = LoadEnvironment::from_process();
    if (saved != nullptr) ::setenv("CREDENTIALS_DIRECTORY", restore.c_str(), 1);

    EXPECT_EQ(with.host_name, host.data());
    EXPECT_EQ(with.credentials_directory, "/run/credentials/iot-amqpd.service");
    EXPECT_EQ(without.credentials_directory, "");
}

TEST(LogLevelNames, RoundTripAndIgnoreCase) {
    for (LogLevel level : {LogLevel::trace, LogLevel::debug, LogLevel::info, LogLevel::warn, LogLevel::error})
        EXPECT_EQ(parse_log_level(to_string(level)), level);
    EXPECT_EQ(to_string(LogLevel::warn), "warn");
    EXPECT_EQ(parse_log_level("WARN"), LogLevel::warn);
    EXPECT_EQ(parse_log_level("warning"), std::nullopt);
    EXPECT_EQ(parse_log_level(""), std::nullopt);
}

TEST(ConfigErrorText, OmitsWhatIsUnknown) {
    EXPECT_EQ(
        (ConfigError{"/etc/x.yaml", 14, 5, "consumer_groups[1].heartbeat", "10s is below the minimum 30s"}.to_string()),
        "/etc/x.yaml:14:5: consumer_groups[1].heartbeat: 10s is below the minimum 30s");
    EXPECT_EQ((ConfigError{"/etc/x.yaml", 3, 1, "", "YAML syntax error: illegal map value"}.to_string()),
              "/etc/x.yaml:3:1: YAML syntax error: illegal map value");
    EXPECT_EQ((ConfigError{"/etc/x.yaml", 0, 0, "", "cannot read the config file: Permission denied"}.to_string()),
              "/etc/x.yaml: cannot read the config file: Permission denied");
}

}  // namespace
}  // namespace iot
