// The emulator in-process against a real proton client over TLS on loopback:
// every rule of PROTOCOL.md §9 that a client can observe, with short deadlines.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <set>

#include "control_protocol.hpp"
#include "emulator.hpp"
#include "iot-amqpd/signer.hpp"
#include "test_certs.hpp"
#include "test_receiver.hpp"

namespace iot::emu {
namespace {

using std::chrono::milliseconds;
using namespace std::chrono_literals;

constexpr const char* kInstance = "iot-06z00test";
constexpr const char* kAccessKey = "LTAI_LOOPBACK";
constexpr const char* kSecret = "loopback-secret";
constexpr auto kWait = 10s;

std::int64_t now_ms() {
    return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

class Loopback : public ::testing::Test {
protected:
    EmulatorOptions options() {
        EmulatorOptions o;
        o.cert_file = test::test_certs().server_cert;
        o.key_file = test::test_certs().server_key;
        o.accounts = std::make_shared<const Accounts>(parse_accounts(
            std::string("instance_id: ") + kInstance + "\nconsumer_groups: [CG1, CG2]\naccounts:\n  - access_key_id: " +
            kAccessKey + "\n    access_key_secret: " + kSecret + "\n    consumer_groups: [CG1, CG2]\n"));
        return o;
    }

    void start(EmulatorOptions o) {
        emulator_ = std::make_unique<Emulator>(std::move(o));
        port_ = emulator_->start();
    }
    void start() { start(options()); }

    ReceiverOptions receiver(const std::string& client_id, std::int64_t timestamp = 0, const char* secret = kSecret,
                             const std::string& group = "CG1") {
        const Secret s(secret);
        SignRequest req;
        req.sign_method = SignMethod::hmacsha256;
        req.access_key_id = kAccessKey;
        req.access_key_secret = &s;
        req.timestamp_ms = timestamp != 0 ? timestamp : now_ms();
        req.client_id = client_id;
        req.consumer_group_id = group;
        req.iot_instance_id = kInstance;
        const auto creds = sign(req);
        ReceiverOptions r;
        r.host = "localhost";
        r.port = port_;
        r.user = creds.user_name;
        r.password = std::string(creds.password.reveal());
        r.ca_file = test::test_certs().ca;
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
    GroupStats group(const std::string& name = "CG1") { return emulator_->stats().groups.at(name); }
    bool until(const std::function<bool()>& condition) { return TestReceiver::wait_for(condition, kWait); }

    PublishResult publish(std::size_t count, const std::string& prefix, const std::string& g = "CG1") {
        PublishSpec spec;
        spec.group = g;
        spec.count = count;
        spec.id_prefix = prefix;
        return emulator_->publish(spec);
    }

    std::unique_ptr<Emulator> emulator_;
    std::uint16_t port_ = 0;
};

TEST_F(Loopback, DeliversOverVerifiedTlsAndAdvertisesHalfTheClientsIdleTimeout) {
    start();
    auto rx = connect(receiver("box-1"));
    ASSERT_TRUE(attached(*rx)) << rx->error();
    // The client's proton advertises 60000 ms; the emulator takes that as its
    // own limit and, being proton too, advertises half of it back.
    EXPECT_EQ(rx->server_idle_timeout_ms(), 30000U);
    PublishSpec spec;
    spec.group = "CG1";
    spec.count = 42;
    spec.kind.reset();  // mixed: every topic kind
    spec.id_prefix = "mix-";
    emulator_->publish(spec);
    ASSERT_TRUE(until([&] { return group().queue.accepted == 42; })) << group().queue.accepted;
    std::set<std::string> ids;
    for (const auto& m : rx->messages()) {
        ids.insert(m.message_id);
        EXPECT_EQ(m.body_type, "data");
        EXPECT_FALSE(m.topic.empty());
        EXPECT_GT(m.generate_time, 0);
    }
    EXPECT_EQ(ids.size(), 42U);
    EXPECT_EQ(*ids.begin(), "mix-1");
    const auto g = group();
    EXPECT_EQ(g.queue.delivered, 42U);
    EXPECT_EQ(g.queue.in_flight, 0U);
    EXPECT_EQ(g.connections, 1U);
    EXPECT_EQ(g.auth_ok, 1U);
    EXPECT_EQ(g.clients.at("box-1").connections_total, 1U);
    ASSERT_EQ(emulator_->clients().size(), 1U);
    EXPECT_EQ(emulator_->clients()[0].client_id, "box-1");
}

TEST_F(Loopback, PremadeMessagesAreTheSameStreamMadeBeforeRelease) {
    start();
    auto rx = connect(receiver("box-1"));
    ASSERT_TRUE(attached(*rx)) << rx->error();
    PublishSpec spec;
    spec.group = "CG1";
    spec.count = 50;
    spec.dup = 5;
    spec.id_prefix = "pre-";
    spec.premade = true;
    const auto before = std::chrono::steady_clock::now().time_since_epoch();
    const PublishResult r = emulator_->publish(spec);
    EXPECT_GE(r.released_ns, std::chrono::duration_cast<std::chrono::nanoseconds>(before).count());
    ASSERT_TRUE(until([&] { return group().queue.accepted == 55; })) << group().queue.accepted;
    const auto got = rx->messages();
    ASSERT_EQ(got.size(), 55U);
    for (std::size_t i = 0; i < got.size(); ++i) {
        const std::size_t n = i < 50 ? i + 1 : i - 50 + 1;  // then ids 1..dup once more
        const EmuMessage expected = make_message(spec, n, got[i].generate_time);
        EXPECT_EQ(got[i].message_id, expected.message_id);
        EXPECT_EQ(got[i].topic, expected.topic);
        EXPECT_EQ(got[i].body, expected.body);
    }
    spec.rate = 100;
    EXPECT_THROW(emulator_->publish(spec), std::invalid_argument) << "premade is for rate 0 only";
}

TEST_F(Loopback, OddBodiesAndProperties) {
    start();
    auto rx = connect(receiver("box-1"));
    ASSERT_TRUE(attached(*rx)) << rx->error();
    const std::pair<BodyEncoding, PropsMode> shapes[] = {{BodyEncoding::string, PropsMode::full},
                                                         {BodyEncoding::value, PropsMode::full},
                                                         {BodyEncoding::empty, PropsMode::full},
                                                         {BodyEncoding::data, PropsMode::none},
                                                         {BodyEncoding::data, PropsMode::long_id}};
    for (const bool premade : {false, true}) {  // encoded when sent, and ahead of time
        for (const auto& [encoding, props] : shapes) {
            PublishSpec spec;
            spec.group = "CG1";
            spec.encoding = encoding;
            spec.props = props;
            spec.id_prefix = props == PropsMode::long_id ? "77" : "odd-";
            spec.premade = premade;
            emulator_->publish(spec);
        }
    }
    ASSERT_TRUE(until([&] { return rx->received() == 10; }));
    const auto all = rx->messages();
    for (std::size_t first : {0U, 5U}) {
        SCOPED_TRACE(first == 0 ? "encoded when sent" : "premade");
        const auto* m = &all[first];
        EXPECT_EQ(m[0].body_type, "string");
        EXPECT_EQ(m[1].body_type, "value");
        EXPECT_EQ(m[2].body_type, "empty");
        EXPECT_FALSE(m[3].has_properties);
        EXPECT_TRUE(m[4].message_id_is_long);
        EXPECT_EQ(m[4].message_id, "771");
    }
}

TEST_F(Loopback, WrongSecretIsUnauthorizedAccess) {
    start();
    auto rx = connect(receiver("box-1", 0, "not-the-secret"));
    ASSERT_TRUE(failed(*rx));
    EXPECT_NE(rx->error().find("amqp:unauthorized-access"), std::string::npos) << rx->error();
    EXPECT_FALSE(rx->opened());
    EXPECT_EQ(group().auth_failures, 1U);
    EXPECT_EQ(group().connections_total, 0U);
}

TEST_F(Loopback, HeartbeatMustBeBetween30And300Seconds) {
    start();
    for (const std::uint32_t proton_setting : {40000U, 600002U}) {  // 20000 and 300001 ms on the wire
        auto r = receiver("hb-" + std::to_string(proton_setting));
        r.idle_timeout_ms = proton_setting;
        auto rx = connect(r);
        ASSERT_TRUE(failed(*rx));
        EXPECT_NE(rx->error().find("amqp:invalid-field"), std::string::npos) << rx->error();
    }
    EXPECT_EQ(group().codes.at(9601), 2U);
    auto r = receiver("hb-ok");
    r.idle_timeout_ms = 60000;  // exactly 30000 on the wire: the Python sample's value
    auto rx = connect(r);
    EXPECT_TRUE(attached(*rx)) << rx->error();
}

TEST_F(Loopback, OneReceiverLinkPerConnectionAndNoSenders) {
    start();
    auto r = receiver("box-1");
    r.extra_receiver = true;
    r.sender_link = true;
    auto rx = connect(r);
    ASSERT_TRUE(attached(*rx)) << rx->error();
    ASSERT_TRUE(until([&] { return rx->link_errors().size() == 2; }));
    for (const auto& e : rx->link_errors()) EXPECT_NE(e.find("amqp:not-allowed"), std::string::npos) << e;
    publish(3, "one-");
    EXPECT_TRUE(until([&] { return rx->received() == 3; })) << "the first link still works";
}

TEST_F(Loopback, PlainTcpAndSkippedSaslAreRefused) {
    start();
    auto r = receiver("plain");
    r.tls = false;
    auto plain = connect(r);
    ASSERT_TRUE(failed(*plain));
    EXPECT_FALSE(plain->opened());

    auto r2 = receiver("nosasl");
    r2.sasl = false;
    auto nosasl = connect(r2);
    ASSERT_TRUE(failed(*nosasl));
    EXPECT_NE(nosasl->error().find("amqp:unauthorized-access"), std::string::npos) << nosasl->error();
    EXPECT_FALSE(nosasl->link_open());
}

TEST_F(Loopback, GroupIsOneQueueSharedByItsConnections) {
    start();
    auto a = connect(receiver("a"));
    auto b = connect(receiver("b"));
    ASSERT_TRUE(attached(*a) && attached(*b));
    publish(200, "s-");
    ASSERT_TRUE(until([&] { return group().queue.accepted == 200; }));
    std::set<std::string> ids;
    for (auto* rx : {a.get(), b.get()})
        for (const auto& m : rx->messages()) EXPECT_TRUE(ids.insert(m.message_id).second) << "twice: " << m.message_id;
    EXPECT_EQ(ids.size(), 200U);
    EXPECT_GT(a->received(), 0U);
    EXPECT_GT(b->received(), 0U);
    EXPECT_EQ(group().queue.delivered, 200U);
}

TEST_F(Loopback, ReleasedAndRejectedMessagesComeBackWithTheSameId) {
    start();
    auto bad = receiver("bad");
    bad.disposition = Disposition::release;
    auto releaser = connect(bad);
    ASSERT_TRUE(attached(*releaser));
    publish(5, "r-");
    ASSERT_TRUE(until([&] { return group().queue.released >= 5; }));
    releaser->set_disposition(Disposition::reject);
    ASSERT_TRUE(until([&] { return group().queue.rejected >= 1; }));
    releaser->stop();
    auto good = connect(receiver("good"));
    ASSERT_TRUE(until([&] { return group().queue.accepted == 5; }));
    std::set<std::string> ids;
    for (const auto& m : good->messages()) ids.insert(m.message_id);
    EXPECT_EQ(ids, (std::set<std::string>{"r-1", "r-2", "r-3", "r-4", "r-5"}));
    const auto g = group();
    EXPECT_GE(g.queue.redelivered, 5U);
    EXPECT_GE(g.codes.at(9651), 5U);
    EXPECT_GE(g.codes.at(9652), 1U);
}

TEST_F(Loopback, DropLosesTheConnectionWithoutCloseAndRequeues) {
    start();
    auto r = receiver("keeper");
    r.disposition = Disposition::none;  // hold everything unsettled
    auto keeper = connect(r);
    ASSERT_TRUE(attached(*keeper));
    publish(5, "d-");
    ASSERT_TRUE(until([&] { return keeper->received() == 5; }));
    EXPECT_EQ(group().queue.in_flight, 5U);
    EXPECT_EQ(emulator_->drop_connections("CG1"), 1U);
    ASSERT_TRUE(failed(*keeper));
    // No AMQP close frame arrived: proton reports a transport failure, not a condition from the peer.
    EXPECT_EQ(keeper->error().find("amqp:connection:forced"), std::string::npos) << keeper->error();
    ASSERT_TRUE(until([&] { return group().connections == 0; }));
    EXPECT_EQ(group().queue.requeued_on_loss, 5U);
    auto next = connect(receiver("next"));
    ASSERT_TRUE(until([&] { return group().queue.accepted == 5; }));
    EXPECT_EQ(group().queue.redelivered, 5U);
    EXPECT_EQ(next->messages().front().message_id.substr(0, 2), "d-");
    EXPECT_EQ(group().codes.at(9602), 1U);
}

TEST_F(Loopback, CloseSendsTheCondition) {
    start();
    auto rx = connect(receiver("box-1"));
    ASSERT_TRUE(attached(*rx));
    EXPECT_EQ(emulator_->close_connections("CG1", "amqp:connection:forced", "deploy 9602"), 1U);
    ASSERT_TRUE(failed(*rx));
    EXPECT_NE(rx->error().find("amqp:connection:forced: deploy 9602"), std::string::npos) << rx->error();
    EXPECT_EQ(emulator_->close_connections("CG2", "amqp:connection:forced", "x"), 0U);
}

TEST_F(Loopback, ConnectionWithoutALinkIsClosedAtTheDeadline) {
    auto o = options();
    o.link_deadline = 300ms;
    start(o);
    auto r = receiver("lazy");
    r.attach = false;
    auto rx = connect(r);
    ASSERT_TRUE(failed(*rx));
    EXPECT_TRUE(rx->opened());
    EXPECT_NE(rx->error().find("no receiver link"), std::string::npos) << rx->error();
}

TEST_F(Loopback, AckTimeoutPutsTheMessageBack) {
    auto o = options();
    o.ack_timeout = 300ms;
    start(o);
    auto r = receiver("slow");
    r.disposition = Disposition::none;
    r.credit = 1;
    auto slow = connect(r);
    ASSERT_TRUE(attached(*slow));
    publish(1, "t-");
    ASSERT_TRUE(until([&] { return group().queue.ack_timeouts == 1; }));
    EXPECT_EQ(group().queue.queued, 1U) << "back in the queue; the slow client has no credit left";
    auto fast = connect(receiver("fast"));
    ASSERT_TRUE(until([&] { return group().queue.accepted == 1; }));
    EXPECT_EQ(fast->messages().at(0).message_id, "t-1");
    EXPECT_EQ(group().codes.at(9650), 1U);
}

TEST_F(Loopback, StrictModeRefusesAReplayedTimestampLenientModeCountsIt) {
    auto o = options();
    o.auth.strict = true;
    start(o);
    const std::int64_t ts = now_ms();
    {
        auto first = connect(receiver("replayer", ts));
        ASSERT_TRUE(attached(*first)) << first->error();
    }
    auto again = connect(receiver("replayer", ts));
    ASSERT_TRUE(failed(*again));
    EXPECT_NE(again->error().find("amqp:unauthorized-access"), std::string::npos);
    EXPECT_EQ(group().clients.at("replayer").stale_timestamps, 1U);
    EXPECT_EQ(group().clients.at("replayer").last_timestamp, ts);

    emulator_.reset();
    start();  // lenient
    auto one = connect(receiver("replayer", ts));
    ASSERT_TRUE(attached(*one));
    auto two = connect(receiver("replayer", ts));
    ASSERT_TRUE(attached(*two));
    EXPECT_EQ(group().stale_timestamps, 1U);
}

TEST_F(Loopback, RefuseAuthAndStall) {
    start();
    emulator_->refuse_auth(60s);
    auto refused = connect(receiver("r"));
    ASSERT_TRUE(failed(*refused));
    EXPECT_EQ(group().auth_failures, 1U);
    emulator_->refuse_auth(0ms);

    emulator_->stall(800ms);
    const auto started = std::chrono::steady_clock::now();
    auto rx = connect(receiver("after-stall"));
    ASSERT_TRUE(attached(*rx)) << rx->error();
    EXPECT_GE(std::chrono::steady_clock::now() - started, 500ms) << "nothing is answered during a stall";
}

TEST_F(Loopback, ClientCapAndAttemptRateAreEnforced) {
    auto o = options();
    o.max_clients_per_group = 1;
    o.max_attempts_per_minute = 3;
    start(o);
    auto first = connect(receiver("c1"));
    ASSERT_TRUE(attached(*first));
    auto second = connect(receiver("c2"));
    ASSERT_TRUE(failed(*second));
    EXPECT_NE(second->error().find("amqp:resource-limit-exceeded"), std::string::npos) << second->error();
    first->stop();
    ASSERT_TRUE(until([&] { return group().connections == 0; }));
    auto third = connect(receiver("c3"));
    ASSERT_TRUE(attached(*third)) << "third attempt in the minute is allowed";
    third->stop();
    auto fourth = connect(receiver("c4"));
    ASSERT_TRUE(failed(*fourth));
    EXPECT_NE(fourth->error().find("attempts"), std::string::npos) << fourth->error();
    EXPECT_EQ(group().refused_attempts, 2U);
    EXPECT_EQ(group().codes.at(9600), 2U);
}

// A raw TCP client: connects, sends nothing, and reports whether the server
// closed the socket within `within`.
class SilentSocket {
public:
    explicit SilentSocket(std::uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connected_ = fd_ >= 0 && ::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
    }
    ~SilentSocket() {
        if (fd_ >= 0) ::close(fd_);
    }
    SilentSocket(const SilentSocket&) = delete;
    SilentSocket& operator=(const SilentSocket&) = delete;

    [[nodiscard]] bool connected() const { return connected_; }
    // True when the peer closed (EOF or reset) before `within` passed.
    [[nodiscard]] bool closed_within(std::chrono::milliseconds within) const {
        const auto deadline = std::chrono::steady_clock::now() + within;
        while (true) {
            const auto left =
                std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now()).count();
            if (left <= 0) return false;
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
            char byte;
            const ssize_t n = ::recv(fd_, &byte, 1, MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return true;
        }
    }

private:
    int fd_ = -1;
    bool connected_ = false;
};

TEST_F(Loopback, ASocketSilentDuringTheHandshakeIsClosedAtTheDeadlineAClientIsNot) {
    EXPECT_EQ(EmulatorOptions{}.handshake_deadline, 15s) << "the cloud's value is the default";
    auto o = options();
    o.handshake_deadline = 600ms;
    start(o);
    auto rx = connect(receiver("normal"));
    ASSERT_TRUE(attached(*rx)) << rx->error();
    const auto started = std::chrono::steady_clock::now();
    SilentSocket silent(port_);
    ASSERT_TRUE(silent.connected());
    EXPECT_FALSE(silent.closed_within(300ms)) << "closed before the deadline";
    EXPECT_TRUE(silent.closed_within(5s)) << "a socket silent during TLS/SASL must be closed";
    const auto took = std::chrono::steady_clock::now() - started;
    EXPECT_GE(took, 550ms);
    // The authenticated client outlived the deadline and still receives.
    publish(3, "h-");
    ASSERT_TRUE(until([&] { return rx->received() == 3; }));
    EXPECT_TRUE(rx->error().empty()) << rx->error();
    EXPECT_EQ(group().connections, 1U);
}

TEST_F(Loopback, PushThrottleLimitsEachConnectionSoTwoConnectionsPushTwiceAsFast) {
    auto o = options();
    o.push_rate = 200;  // burst 20 per connection
    start(o);
    auto timed_run = [&](std::size_t connections, const std::string& prefix) {
        std::vector<std::unique_ptr<TestReceiver>> rxs;
        for (std::size_t i = 0; i < connections; ++i) rxs.push_back(connect(receiver(prefix + std::to_string(i))));
        for (auto& rx : rxs) EXPECT_TRUE(attached(*rx)) << rx->error();
        const auto before = group().queue.accepted;
        const auto started = std::chrono::steady_clock::now();
        publish(300, prefix);
        EXPECT_TRUE(TestReceiver::wait_for([&] { return group().queue.accepted == before + 300; }, 20s));
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        for (auto& rx : rxs) rx->stop();
        EXPECT_TRUE(until([&] { return group().connections == 0; }));
        return seconds;
    };
    const double one = timed_run(1, "t1-");
    const double two = timed_run(2, "t2-");
    std::printf("[ scenario ] push throttle 200 msg/s: 300 messages, 1 connection %.2f s, 2 connections %.2f s\n", one,
                two);
    EXPECT_GE(one, 1.2) << "(300 - 20) / 200 s at least";
    EXPECT_LT(one, 3.0);
    EXPECT_LT(two, one * 0.7);
}

TEST_F(Loopback, StallOfAGroupOrAClientStopsOnlyItsPushes) {
    start();
    auto a1 = connect(receiver("a1"));
    auto a2 = connect(receiver("a2"));
    auto b = connect(receiver("b", 0, kSecret, "CG2"));
    ASSERT_TRUE(attached(*a1) && attached(*a2) && attached(*b));

    EXPECT_THROW(emulator_->stall_pushes("NOPE", "", 1s), std::invalid_argument);
    EXPECT_EQ(emulator_->stall_pushes("CG1", "", 1500ms), 2U);
    const auto stalled_at = std::chrono::steady_clock::now();
    publish(20, "sa-");
    publish(20, "sb-", "CG2");
    ASSERT_TRUE(until([&] { return b->received() == 20; })) << "the other group goes on";
    EXPECT_EQ(a1->received() + a2->received(), 0U) << "the stalled group gets nothing";
    ASSERT_TRUE(until([&] { return a1->received() + a2->received() == 20; }));
    EXPECT_GE(std::chrono::steady_clock::now() - stalled_at, 1400ms);

    EXPECT_EQ(emulator_->stall_pushes("", "a1", 1500ms), 1U);
    publish(20, "sc-");
    ASSERT_TRUE(until([&] { return group().queue.accepted == 40; })) << "the other connection takes them all";
    std::size_t a1_sc = 0;
    for (const auto& m : a1->messages()) a1_sc += m.message_id.rfind("sc-", 0) == 0 ? 1 : 0;
    EXPECT_EQ(a1_sc, 0U) << "the stalled client got some of the 20";
}

TEST_F(Loopback, TheBacklogIsRepushedAtItsRateNewMessagesDoNotWaitForIt) {
    auto o = options();
    o.backlog_rate = 100;  // burst 10
    start(o);
    auto r = receiver("holder");
    r.disposition = Disposition::none;  // hold everything unsettled
    r.credit = 60;
    auto holder = connect(r);
    ASSERT_TRUE(attached(*holder));
    publish(60, "b-");
    ASSERT_TRUE(until([&] { return holder->received() == 60; }));
    EXPECT_EQ(emulator_->drop_connections("CG1"), 1U);
    ASSERT_TRUE(until([&] { return group().connections == 0 && group().queue.requeued_on_loss == 60; }));

    auto next = connect(receiver("next"));
    ASSERT_TRUE(attached(*next));
    const auto started = std::chrono::steady_clock::now();
    publish(20, "n-");
    ASSERT_TRUE(until([&] { return group().queue.accepted == 80; }));
    const auto took = std::chrono::steady_clock::now() - started;
    EXPECT_GE(took, 400ms) << "60 redeliveries at 100/s with a burst of 10 take 0.5 s";
    EXPECT_EQ(group().queue.redelivered, 60U);
    // The new messages went past the backlog: all of them arrived before its last redelivery.
    const auto messages = next->messages();
    std::size_t last_new = 0, last_old = 0;
    for (std::size_t i = 0; i < messages.size(); ++i)
        (messages[i].message_id.rfind("n-", 0) == 0 ? last_new : last_old) = i;
    EXPECT_LT(last_new, last_old);
}

TEST_F(Loopback, StallCommandsOnTheControlProtocol) {
    start();
    ControlHandler control(*emulator_, {});
    const auto ok = [&](const std::string& line) {
        return control.handle(line).find("\"ok\":true") != std::string::npos;
    };
    EXPECT_TRUE(ok("stall group=CG1 ms=50"));
    EXPECT_TRUE(ok("stall client=nobody seconds=0.05"));
    EXPECT_TRUE(ok("stall ms=50")) << "the whole emulator, as before";
    EXPECT_TRUE(ok("stall seconds=0.05"));
    EXPECT_FALSE(ok("stall group=CG1 client=x ms=50")) << "a group or a client, not both";
    EXPECT_FALSE(ok("stall group=NOPE ms=50"));
    EXPECT_FALSE(ok("stall group=CG1 ms=50 seconds=1"));
    EXPECT_FALSE(ok("stall group=CG1"));
}

TEST_F(Loopback, UntrustedExpiredAndWrongHostCertificatesAreRefusedByTheClient) {
    const auto& certs = test::test_certs();
    const std::pair<std::string, std::string> bad[] = {{certs.rogue_server_cert, certs.rogue_server_key},
                                                       {certs.expired_server_cert, certs.expired_server_key},
                                                       {certs.wrong_host_cert, certs.wrong_host_key}};
    for (const auto& [cert, key] : bad) {
        auto o = options();
        o.cert_file = cert;
        o.key_file = key;
        emulator_.reset();
        start(o);
        auto rx = connect(receiver("verifier"));
        ASSERT_TRUE(failed(*rx)) << cert;
        EXPECT_NE(rx->error().find("SSL"), std::string::npos) << cert << ": " << rx->error();
        EXPECT_EQ(group().auth_ok, 0U) << cert;
    }
}

}  // namespace
}  // namespace iot::emu
