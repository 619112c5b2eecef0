// The emulator program's IoTDA tenant as a daemon test will meet it: the
// Scenario's accounts file, the --iotda-* options and the control socket's
// queue commands, driven by a plain proton client until the daemon has a
// huawei-iotda profile.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "json.hpp"
#include "scenario.hpp"
#include "test_receiver.hpp"
#include "wait_until.hpp"

namespace iot::test {
namespace {

using namespace std::chrono_literals;

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

emu::ReceiverOptions iotda_client(Scenario& scenario, const std::string& queue) {
    emu::ReceiverOptions r;
    r.host = "localhost";
    r.port = scenario.emulator_port();
    r.user =
        "accessKey=" + scenario.iotda_access_key() + "|timestamp=" + std::to_string(now_ms()) + "|instanceId=inst-it";
    r.password = scenario.correct_secret();
    r.ca_file = (scenario.cert_dir() / "ca.pem").string();
    r.virtual_host = "default";
    r.source = queue;
    r.idle_timeout_ms = 8000;
    return r;
}

TEST(EmulatorIotda, TheProgramServesTheScenariosTenant) {
    ScenarioOptions options;
    options.iotda_queues = {"factory-queue"};
    options.iotda_instance_id = "inst-it";
    options.emulator_args = {"--iotda-max-connections", "1"};
    Scenario scenario(options);

    emu::TestReceiver first(iotda_client(scenario, "factory-queue"));
    first.start();
    ASSERT_TRUE(wait_until(
        "the first client's link", [&] { return first.link_open() || first.finished(); }, 10s));
    ASSERT_TRUE(first.link_open()) << first.error();

    const emu::Json reply = scenario.publish_queue("factory-queue", 25, "it", "resource=mixed dup=5");
    EXPECT_EQ(reply["first_id"].as_string(), "it-1");
    ASSERT_TRUE(wait_until(
        "30 accepted", [&] { return scenario.queue_counters("factory-queue").accepted == 30; }, 15s));
    EXPECT_EQ(emu::Json::parse(first.messages().front().body)["request_id"].as_string(), "it-1");

    emu::TestReceiver second(iotda_client(scenario, "DefaultQueue"));
    second.start();
    ASSERT_TRUE(wait_until(
        "the second client refused", [&] { return !second.error().empty(); }, 10s));
    EXPECT_NE(second.error().find("amqp:resource-limit-exceeded"), std::string::npos) << second.error();

    const emu::Json stats = scenario.emulator("stats");
    const auto& key = stats["access_keys"][scenario.iotda_access_key()];
    EXPECT_EQ(key["auth_ok"].as_int(), 2);
    EXPECT_EQ(key["refused_attempts"].as_int(), 1);
    EXPECT_EQ(key["user_names"].as_array().size(), 2U);
}

}  // namespace
}  // namespace iot::test
