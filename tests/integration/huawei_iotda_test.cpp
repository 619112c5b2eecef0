// cloud: huawei-iotda against the emulator's IoTDA dialect (as strict as the
// documentation): every envelope once in the journal with its fields, a fresh
// user name on every reconnect, a wrong access code, a missing request_id,
// and the endpoint's name verified while the Open hostname is "default".

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "json.hpp"
#include "scenario.hpp"
#include "wait_until.hpp"

namespace iot::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kQueue = "factory-queue";
constexpr const char* kInstance = "inst-it";

ScenarioOptions iotda_options() {
    ScenarioOptions options;
    options.iotda_queues = {kQueue};
    options.iotda_instance_id = kInstance;
    return options;
}

GroupSpec& add_iotda_group(Scenario& scenario, const std::string& name, int connections = 1) {
    GroupSpec& group = scenario.config().add_group(name, "", connections);
    group.cloud = "huawei-iotda";
    group.extra_lines = {"access_key: " + yaml_quote(scenario.iotda_access_key()),
                         "access_code_file: " + yaml_quote(scenario.secret_path().string()),
                         "instance_id: " + yaml_quote(kInstance), std::string("queue: ") + kQueue};
    return group;
}

std::vector<JournalEntry> entries(Scenario& scenario) {
    return JournalReader::read_all(by_identifier(scenario.message_identifier()));
}

::testing::AssertionResult all_accepted(Scenario& scenario, std::int64_t count, std::chrono::milliseconds timeout) {
    return wait_until(
        "the emulator saw every message accepted",
        [&] {
            const GroupCounters c = scenario.queue_counters(kQueue);
            return c.accepted >= count && c.in_flight == 0 && c.queued == 0;
        },
        timeout);
}

std::vector<std::string> user_names(Scenario& scenario) {
    std::vector<std::string> names;
    const emu::Json stats = scenario.emulator("stats");
    const emu::Json& logins = stats["access_keys"][scenario.iotda_access_key()]["user_names"];
    if (logins.is_null()) return names;  // the access key never reached SASL
    for (const emu::Json& name : logins.as_array()) names.push_back(name.as_string());
    return names;
}

TEST(HuaweiIotda, DeliversEveryEnvelopeOnceWithItsFields) {
    constexpr int kCount = 1000;
    constexpr int kDuplicates = 50;
    Scenario scenario(iotda_options());
    add_iotda_group(scenario, "factory-hw", 2);
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready());
    ASSERT_TRUE(wait_until(
        "both links attached", [&] { return scenario.queue_counters(kQueue).links == 2; }, 20s));
    scenario.publish_queue(kQueue, kCount, "hw", "resource=mixed devices=7 dup=" + std::to_string(kDuplicates));
    ASSERT_TRUE(all_accepted(scenario, kCount + kDuplicates, 60s));
    ASSERT_TRUE(scenario.messages().wait_for_count(kCount, 30s));

    std::map<std::string, int> seen;
    for (const JournalEntry& entry : entries(scenario)) {
        const std::string id = field_or_empty(entry, "IOT_MESSAGE_ID");
        ++seen[id];
        const emu::Json body = emu::Json::parse(field_or_empty(entry, "MESSAGE"));
        EXPECT_EQ(body["request_id"].as_string(), id);
        EXPECT_EQ(field_or_empty(entry, "IOT_RESOURCE"), body["resource"].as_string()) << id;
        EXPECT_EQ(field_or_empty(entry, "IOT_EVENT_TYPE"), body["event"].as_string()) << id;
        EXPECT_EQ(field_or_empty(entry, "IOT_DEVICE_ID"), body["notify_data"]["header"]["device_id"].as_string()) << id;
        EXPECT_EQ(field_or_empty(entry, "IOT_PRODUCT_ID"), body["notify_data"]["header"]["product_id"].as_string())
            << id;
        EXPECT_FALSE(field_or_empty(entry, "IOT_GENERATE_TIME").empty()) << id;
        EXPECT_EQ(field_or_empty(entry, "IOT_CONSUMER_GROUP"), "factory-hw") << id;
        EXPECT_EQ(entry.count("IOT_CONSUMER_GROUP_ID"), 0U) << id;
        if (HasFailure()) break;
    }
    EXPECT_EQ(seen.size(), static_cast<std::size_t>(kCount));
    for (int n = 1; n <= kCount; ++n) EXPECT_EQ(seen["hw-" + std::to_string(n)], 1) << n;
    EXPECT_TRUE(scenario.no_secret_leaked());
}

// IoTDA refuses a timestamp more than 5 minutes off: the user name is built
// again for every attempt, never reused.
TEST(HuaweiIotda, EveryReconnectLogsInWithAFreshUserName) {
    Scenario scenario(iotda_options());
    add_iotda_group(scenario, "factory-hw");
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready());
    for (int drop = 1; drop <= 3; ++drop) {
        ASSERT_TRUE(wait_until(
            "a link attached", [&] { return scenario.queue_counters(kQueue).links == 1; }, 20s));
        scenario.publish_queue(kQueue, 100, "d" + std::to_string(drop));
        ASSERT_TRUE(all_accepted(scenario, 100 * drop, 30s));
        scenario.emulator(std::string("drop queue=") + kQueue);
    }
    ASSERT_TRUE(wait_until(
        "the fourth login", [&] { return user_names(scenario).size() >= 4; }, 20s));
    const std::vector<std::string> names = user_names(scenario);
    std::set<std::string> distinct(names.begin(), names.end());
    EXPECT_EQ(distinct.size(), names.size()) << "a user name was used twice";
    std::int64_t previous = 0;
    for (const std::string& name : names) {
        const std::string prefix = "accessKey=" + scenario.iotda_access_key() + "|timestamp=";
        ASSERT_EQ(name.rfind(prefix, 0), 0U) << name;
        const std::size_t end = name.find('|', prefix.size());
        EXPECT_EQ(name.substr(end), std::string("|instanceId=") + kInstance) << name;
        const std::int64_t stamp = std::stoll(name.substr(prefix.size(), end - prefix.size()));
        EXPECT_GT(stamp, previous) << name;
        previous = stamp;
    }
    ASSERT_TRUE(scenario.messages().wait_for_count(300, 20s));
    EXPECT_EQ(entries(scenario).size(), 300U);
}

TEST(HuaweiIotda, AWrongAccessCodeIsAnAuthenticationFailureThatNeverShowsTheCode) {
    Scenario scenario(iotda_options());
    add_iotda_group(scenario, "factory-hw");
    scenario.write_secret("wrong-access-code-0123456789");
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready());
    ASSERT_TRUE(scenario.wait_for_event("auth_failed", 1, 20s));
    const std::string line = field_or_empty(scenario.daemon_events("auth_failed").front(), "MESSAGE");
    EXPECT_NE(line.find("check access_key and the access code"), std::string::npos) << line;
    EXPECT_EQ(scenario.queue_counters(kQueue).links, 0);
    EXPECT_TRUE(scenario.no_secret_leaked());
}

// Without a request_id the message id is the body's hash: byte-identical
// redeliveries are written once, distinct reports all.
TEST(HuaweiIotda, WithoutARequestIdTheBodysHashKeepsRedeliveriesOut) {
    constexpr int kCount = 200;
    Scenario scenario(iotda_options());
    add_iotda_group(scenario, "factory-hw");
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready());
    scenario.publish_queue(kQueue, kCount, "nr", "request_id=0 dup=40");
    ASSERT_TRUE(all_accepted(scenario, kCount + 40, 30s));
    ASSERT_TRUE(scenario.messages().wait_for_count(kCount, 20s));
    std::set<std::string> ids;
    for (const JournalEntry& entry : entries(scenario)) {
        const std::string id = field_or_empty(entry, "IOT_MESSAGE_ID");
        EXPECT_EQ(id.rfind("sha256:", 0), 0U) << id;
        ids.insert(id);
    }
    EXPECT_EQ(ids.size(), static_cast<std::size_t>(kCount));
    EXPECT_EQ(entries(scenario).size(), static_cast<std::size_t>(kCount));
}

// The Open hostname is "default", but TLS checks the endpoint's own name: a
// certificate for another host is refused before any credential is sent.
TEST(HuaweiIotda, TheEndpointsNameIsVerifiedThoughTheOpenHostnameIsDefault) {
    ScenarioOptions options = iotda_options();
    options.server_cert = "wrong-host-server";
    Scenario scenario(options);
    add_iotda_group(scenario, "factory-hw");
    ASSERT_TRUE(scenario.start_daemon_and_wait_ready());
    ASSERT_TRUE(wait_until(
        "a TLS failure logged",
        [&] {
            for (const JournalEntry& entry : scenario.daemon_events("disconnected"))
                if (field_or_empty(entry, "MESSAGE").find("TLS failure") != std::string::npos) return true;
            return false;
        },
        20s));
    EXPECT_TRUE(user_names(scenario).empty()) << "a user name reached a server whose certificate names another host";
    EXPECT_TRUE(scenario.no_secret_leaked());
}

}  // namespace
}  // namespace iot::test
