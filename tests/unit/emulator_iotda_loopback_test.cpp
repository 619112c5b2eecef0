// The emulator's IoTDA dialect in-process against a real proton client over
// TLS on loopback: what the daemon's huawei-iotda profile will meet, and each
// refusal as it appears on the wire.
#include <gtest/gtest.h>

#include <chrono>
#include <set>

#include "control_protocol.hpp"
#include "emulator.hpp"
#include "iot-amqpd/signer.hpp"
#include "json.hpp"
#include "test_certs.hpp"
#include "test_receiver.hpp"

namespace iot::emu {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

constexpr const char* kKey = "AbCdEfGh";
constexpr const char* kCode = "loopback-access-code";
constexpr auto kWait = 10s;

std::int64_t now_ms() {
    return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string iotda_user(std::int64_t ts = 0, const std::string& tail = "") {
    return std::string("accessKey=") + kKey + "|timestamp=" + std::to_string(ts != 0 ? ts : now_ms()) + tail;
}

class IotdaLoopback : public ::testing::Test {
protected:
    EmulatorOptions options(const std::string& instance = "") {
        EmulatorOptions o;
        o.cert_file = test::test_certs().server_cert;
        o.key_file = test::test_certs().server_key;
        // Both dialects in one tenant file, as one emulator serves both.
        o.accounts = std::make_shared<const Accounts>(
            parse_accounts(std::string("consumer_groups: [CG1]\n"
                                       "accounts:\n"
                                       "  - access_key_id: LTAI_LOOPBACK\n"
                                       "    access_key_secret: alibaba-secret\n"
                                       "    consumer_groups: [CG1]\n"
                                       "iotda:\n"
                                       "  instance_id: '") +
                           instance + "'\n  access_keys:\n    - access_key: " + kKey + "\n      access_code: " + kCode +
                           "\n  queues: [factory-queue]\n"));
        return o;
    }
    void start(EmulatorOptions o) {
        emulator_ = std::make_unique<Emulator>(std::move(o));
        port_ = emulator_->start();
    }
    void start() { start(options()); }

    ReceiverOptions receiver(const std::string& user = iotda_user(), const std::string& source = "DefaultQueue") {
        ReceiverOptions r;
        r.host = "localhost";
        r.port = port_;
        r.user = user;
        r.password = kCode;
        r.ca_file = test::test_certs().ca;
        r.virtual_host = "default";
        r.source = source;
        r.idle_timeout_ms = 8000;  // the samples' amqp.idleTimeout; 4000 on the wire
        r.credit = 10;
        return r;
    }
    std::unique_ptr<TestReceiver> connect(ReceiverOptions r) {
        auto rx = std::make_unique<TestReceiver>(std::move(r));
        rx->start();
        return rx;
    }
    static bool attached(TestReceiver& rx) {
        return TestReceiver::wait_for([&] { return rx.link_open() || rx.finished(); }, kWait) && rx.link_open();
    }
    static bool failed(TestReceiver& rx) {
        return TestReceiver::wait_for([&] { return !rx.error().empty(); }, kWait);
    }
    static bool until(const std::function<bool()>& condition) { return TestReceiver::wait_for(condition, kWait); }
    GroupStats queue(const std::string& name = "DefaultQueue") { return emulator_->stats().queues.at(name); }
    AccessKeyStats key() { return emulator_->stats().access_keys.at(kKey); }

    PublishResult publish(std::size_t count, const std::string& prefix, const std::string& name = "DefaultQueue") {
        PublishSpec spec;
        spec.group = iotda_queue_key(name);
        spec.count = count;
        spec.id_prefix = prefix;
        spec.iotda = IotdaSpec{};
        return emulator_->publish(spec);
    }

    std::unique_ptr<Emulator> emulator_;
    std::uint16_t port_ = 0;
};

TEST_F(IotdaLoopback, DeliversJsonEnvelopesThatAreAccepted) {
    start();
    const std::string user = iotda_user();
    auto rx = connect(receiver(user));
    ASSERT_TRUE(attached(*rx)) << rx->error();
    EXPECT_EQ(rx->server_idle_timeout_ms(), 2000U) << "the client's 4000 ms, halved back";
    publish(20, "req-");
    ASSERT_TRUE(until([&] { return queue().queue.accepted == 20; })) << queue().queue.accepted;
    std::set<std::string> ids;
    for (const auto& m : rx->messages()) {
        EXPECT_EQ(m.body_type, "data");
        EXPECT_FALSE(m.has_properties) << "IoTDA documents no application properties";
        const Json body = Json::parse(m.body);
        EXPECT_EQ(body["resource"].as_string(), "device.message");
        EXPECT_EQ(body["notify_data"]["header"]["product_id"].as_string(), "iotda-product");
        ids.insert(body["request_id"].as_string());
    }
    EXPECT_EQ(ids.size(), 20U);
    EXPECT_TRUE(ids.count("req-1") && ids.count("req-20"));
    const auto q = queue();
    EXPECT_EQ(q.queue.published, 20U);
    EXPECT_EQ(q.queue.delivered, 20U);
    EXPECT_EQ(q.links, 1U);
    const auto k = key();
    EXPECT_EQ(k.auth_ok, 1U);
    EXPECT_EQ(k.connections, 1U);
    ASSERT_EQ(k.user_names.size(), 1U);
    EXPECT_EQ(k.user_names[0], user);
    ASSERT_EQ(emulator_->clients().size(), 1U);
    EXPECT_EQ(emulator_->clients()[0].client_id, kKey);
    EXPECT_TRUE(emulator_->stats().groups.count("CG1")) << "the Alibaba groups are still reported apart";
    EXPECT_FALSE(emulator_->stats().groups.count(iotda_queue_key("DefaultQueue")));
}

TEST_F(IotdaLoopback, AlibabaClientsShareTheListener) {
    start();
    const Secret secret("alibaba-secret");
    SignRequest req;
    req.sign_method = SignMethod::hmacsha256;
    req.access_key_id = "LTAI_LOOPBACK";
    req.access_key_secret = &secret;
    req.timestamp_ms = now_ms();
    req.client_id = "ali-1";
    req.consumer_group_id = "CG1";
    const auto creds = sign(req);
    ReceiverOptions r;
    r.host = "localhost";
    r.port = port_;
    r.user = creds.user_name;
    r.password = std::string(creds.password.reveal());
    r.ca_file = test::test_certs().ca;
    auto alibaba = connect(r);
    auto iotda = connect(receiver());
    ASSERT_TRUE(attached(*alibaba)) << alibaba->error();
    ASSERT_TRUE(attached(*iotda)) << iotda->error();
    PublishSpec spec;
    spec.group = "CG1";
    spec.count = 5;
    spec.id_prefix = "ali-";
    emulator_->publish(spec);
    publish(5, "hw-");
    ASSERT_TRUE(until([&] { return alibaba->received() == 5 && iotda->received() == 5; }));
    EXPECT_EQ(alibaba->messages()[0].message_id, "ali-1");
    EXPECT_FALSE(iotda->messages()[0].has_properties);
}

TEST_F(IotdaLoopback, WrongCodeAndStaleTimestampFailSasl) {
    start();
    auto r = receiver();
    r.password = "not-the-code";
    auto wrong = connect(r);
    auto stale = connect(receiver(iotda_user(now_ms() - 6 * 60 * 1000)));
    for (auto* rx : {wrong.get(), stale.get()}) {
        ASSERT_TRUE(failed(*rx));
        EXPECT_NE(rx->error().find("amqp:unauthorized-access"), std::string::npos) << rx->error();
        EXPECT_FALSE(rx->opened());
    }
    EXPECT_EQ(key().auth_failures, 2U);
    EXPECT_EQ(key().connections_total, 0U);
}

TEST_F(IotdaLoopback, MissingOrWrongInstanceIdFailsSasl) {
    start(options("inst-1"));
    auto missing = connect(receiver());
    auto wrong = connect(receiver(iotda_user(0, "|instanceId=inst-2")));
    for (auto* rx : {missing.get(), wrong.get()}) {
        ASSERT_TRUE(failed(*rx));
        EXPECT_NE(rx->error().find("amqp:unauthorized-access"), std::string::npos) << rx->error();
    }
    auto good = connect(receiver(iotda_user(0, "|instanceId=inst-1")));
    EXPECT_TRUE(attached(*good)) << good->error();
}

TEST_F(IotdaLoopback, OpenHostnameMustBeDefault) {
    start();
    auto r = receiver();
    r.virtual_host = "iot-amqps.example.com";
    auto rx = connect(r);
    ASSERT_TRUE(failed(*rx));
    EXPECT_NE(rx->error().find("amqp:not-found"), std::string::npos) << rx->error();
    EXPECT_NE(rx->error().find("default"), std::string::npos) << rx->error();
    EXPECT_FALSE(rx->link_open());
    EXPECT_EQ(key().refused_attempts, 1U);
}

TEST_F(IotdaLoopback, UnknownQueueIsNotFoundAndSendersAreRefused) {
    start();
    auto r = receiver(iotda_user(), "NoSuchQueue");
    r.sender_link = true;
    auto rx = connect(r);
    ASSERT_TRUE(until([&] { return rx->link_errors().size() == 2; })) << rx->error();
    const auto errors = rx->link_errors();
    const bool not_found =
        errors[0].find("amqp:not-found") != std::string::npos || errors[1].find("amqp:not-found") != std::string::npos;
    const bool not_allowed = errors[0].find("amqp:not-allowed") != std::string::npos ||
                             errors[1].find("amqp:not-allowed") != std::string::npos;
    EXPECT_TRUE(not_found && not_allowed) << errors[0] << " / " << errors[1];
}

TEST_F(IotdaLoopback, TenReceiverLinksPerConnection) {
    start();
    auto r = receiver(iotda_user(), "factory-queue");
    r.extra_sources = 10;  // 11 links
    auto rx = connect(r);
    ASSERT_TRUE(attached(*rx)) << rx->error();
    ASSERT_TRUE(until([&] { return rx->link_errors().size() == 1; }));
    EXPECT_NE(rx->link_errors()[0].find("amqp:resource-limit-exceeded"), std::string::npos) << rx->link_errors()[0];
    EXPECT_TRUE(until([&] { return queue("factory-queue").links == 10; })) << queue("factory-queue").links;
}

TEST_F(IotdaLoopback, ConnectionsPerAccessKeyAreCapped) {
    auto o = options();
    o.iotda.max_connections_per_key = 2;
    start(o);
    auto a = connect(receiver());
    auto b = connect(receiver());
    ASSERT_TRUE(attached(*a) && attached(*b));
    auto c = connect(receiver());
    ASSERT_TRUE(failed(*c));
    EXPECT_NE(c->error().find("amqp:resource-limit-exceeded"), std::string::npos) << c->error();
    a->stop();
    ASSERT_TRUE(until([&] { return key().connections == 1; }));
    auto d = connect(receiver());
    EXPECT_TRUE(attached(*d)) << d->error();
}

TEST_F(IotdaLoopback, IdleTimeOutOutsideTheRangeIsInvalidField) {
    start();
    auto r = receiver();
    r.idle_timeout_ms = 1200002;  // 600001 on the wire
    auto rx = connect(r);
    ASSERT_TRUE(failed(*rx));
    EXPECT_NE(rx->error().find("amqp:invalid-field"), std::string::npos) << rx->error();
}

TEST_F(IotdaLoopback, NoReceiverWithinTheLinkDeadlineClosesTheConnection) {
    auto o = options();
    o.link_deadline = 300ms;
    start(o);
    auto r = receiver();
    r.attach = false;
    auto rx = connect(r);
    ASSERT_TRUE(failed(*rx));
    EXPECT_NE(rx->error().find("amqp:connection:forced"), std::string::npos) << rx->error();
}

TEST_F(IotdaLoopback, QueueIsSharedAndUnsettledMessagesAreRedelivered) {
    start();
    auto r = receiver();
    r.disposition = Disposition::none;
    r.credit = 5;
    auto holder = connect(r);
    ASSERT_TRUE(attached(*holder)) << holder->error();
    publish(5, "held-");
    ASSERT_TRUE(until([&] { return holder->received() == 5; }));
    holder->stop();
    auto a = connect(receiver());
    auto b = connect(receiver());
    ASSERT_TRUE(attached(*a) && attached(*b));
    publish(100, "shared-");
    ASSERT_TRUE(until([&] { return queue().queue.accepted == 105; })) << queue().queue.accepted;
    EXPECT_EQ(queue().queue.redelivered, 5U);
    EXPECT_GT(a->received(), 0U);
    EXPECT_GT(b->received(), 0U);
    EXPECT_EQ(a->received() + b->received(), 105U);
}

TEST_F(IotdaLoopback, ControlProtocolPublishesIntoAQueueAndReportsLogins) {
    start();
    auto rx = connect(receiver());
    ASSERT_TRUE(attached(*rx)) << rx->error();
    ControlHandler control(*emulator_, nullptr);
    const Json reply = Json::parse(control.handle(
        "publish queue=DefaultQueue count=4 dup=1 id_prefix=ctl resource=mixed request_id=1 event_time_ms=0"));
    ASSERT_TRUE(reply["ok"].as_bool()) << reply.dump();
    EXPECT_EQ(reply["queue"].as_string(), "DefaultQueue");
    EXPECT_EQ(reply["first_id"].as_string(), "ctl-1");
    EXPECT_EQ(reply["last_id"].as_string(), "ctl-4");
    ASSERT_TRUE(until([&] { return rx->received() == 5; }));
    const auto got = rx->messages();
    EXPECT_EQ(got[0].body, got[4].body) << "the duplicate is byte-identical";
    EXPECT_EQ(Json::parse(got[1].body)["resource"].as_string(), "device.property");
    EXPECT_FALSE(Json::parse(got[0].body).as_object().count("event_time_ms"));

    EXPECT_FALSE(Json::parse(control.handle("publish queue=NoSuchQueue count=1"))["ok"].as_bool());
    EXPECT_FALSE(Json::parse(control.handle("publish queue=DefaultQueue group=CG1"))["ok"].as_bool());
    EXPECT_FALSE(Json::parse(control.handle("publish queue=DefaultQueue kind=ota_upgrade"))["ok"].as_bool());

    const Json stats = Json::parse(control.handle("stats"));
    EXPECT_EQ(stats["queues"]["DefaultQueue"]["published"].as_int(), 5);
    EXPECT_EQ(stats["access_keys"][kKey]["user_names"].as_array().size(), 1U);

    const Json dropped = Json::parse(control.handle("drop queue=DefaultQueue"));
    EXPECT_EQ(dropped["dropped"].as_int(), 1);
    ASSERT_TRUE(until([&] { return rx->finished(); }));
    EXPECT_EQ(Json::parse(control.handle("close queue=factory-queue"))["closed"].as_int(), 0);
}

}  // namespace
}  // namespace iot::emu
