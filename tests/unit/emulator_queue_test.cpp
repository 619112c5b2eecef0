#include "group_queue.hpp"
#include "rate_limiter.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace iot::emu {
namespace {

using Clock = GroupQueue::Clock;
using std::chrono::milliseconds;

// A receiver link with a credit counter that records what it was sent.
class FakePort : public ConsumerPort {
public:
    int credit() const override { return credit_; }
    void send(std::uint64_t delivery_id, const EmuMessage& message) override {
        ASSERT_GT(credit_, 0) << "sent beyond credit";
        --credit_;
        sent.emplace_back(delivery_id, message.message_id);
    }
    int credit_ = 0;
    std::vector<std::pair<std::uint64_t, std::string>> sent;
};

std::shared_ptr<const Publication> publication(std::size_t count, std::size_t dup = 0) {
    PublishSpec spec;
    spec.group = "G";
    spec.count = count;
    spec.dup = dup;
    spec.id_prefix = "m-";
    return std::make_shared<const Publication>(spec);
}

class QueueTest : public ::testing::Test {
protected:
    GroupQueue queue{milliseconds(30000), milliseconds(0)};
    Clock::time_point now = Clock::now();
    void dispatch() { queue.dispatch(now, 1'800'000'000'000); }
};

TEST_F(QueueTest, MessagesWaitUntilSomeoneHasCredit) {
    queue.publish(publication(5), 0, 5);
    dispatch();
    EXPECT_EQ(queue.counters().queued, 5U);
    FakePort port;
    queue.add_consumer(1, &port);
    dispatch();
    EXPECT_TRUE(port.sent.empty()) << "no credit, nothing sent";
    port.credit_ = 3;
    dispatch();
    ASSERT_EQ(port.sent.size(), 3U);
    EXPECT_EQ(port.credit_, 0);
    EXPECT_EQ(queue.counters().queued, 2U);
    EXPECT_EQ(queue.counters().in_flight, 3U);
    EXPECT_EQ(port.sent[0].second, "m-1");
    EXPECT_EQ(port.sent[2].second, "m-3");
}

TEST_F(QueueTest, ALimitedDispatchSendsThatManyAndTheNextCarriesOnInOrder) {
    FakePort port;
    port.credit_ = 100;
    queue.add_consumer(1, &port);
    queue.publish(publication(40), 0, 40);
    EXPECT_EQ(queue.dispatch(now, 1'800'000'000'000, 16), 16U);
    EXPECT_EQ(queue.dispatch(now, 1'800'000'000'000, 16), 16U);
    EXPECT_EQ(queue.dispatch(now, 1'800'000'000'000, 16), 8U) << "fewer than the limit: the backlog is done";
    ASSERT_EQ(port.sent.size(), 40U);
    for (std::size_t i = 0; i < port.sent.size(); ++i) EXPECT_EQ(port.sent[i].second, "m-" + std::to_string(i + 1));
}

TEST_F(QueueTest, EachMessageGoesToExactlyOneOfTheGroupsConsumers) {
    FakePort a, b;
    a.credit_ = 1000;
    b.credit_ = 1000;
    queue.add_consumer(1, &a);
    queue.add_consumer(2, &b);
    queue.publish(publication(100), 0, 100);
    dispatch();
    std::multiset<std::string> ids;
    for (const auto& s : a.sent) ids.insert(s.second);
    for (const auto& s : b.sent) ids.insert(s.second);
    EXPECT_EQ(ids.size(), 100U);
    EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 100U) << "no message sent twice";
    EXPECT_EQ(a.sent.size(), 50U) << "round robin shares the load";
    EXPECT_EQ(b.sent.size(), 50U);
}

TEST_F(QueueTest, OnlyAcceptedFinishesAMessageOthersComeBackWithTheSameId) {
    FakePort port;
    port.credit_ = 10;
    queue.add_consumer(1, &port);
    queue.publish(publication(4), 0, 4);
    dispatch();
    ASSERT_EQ(port.sent.size(), 4U);
    EXPECT_TRUE(queue.settle(port.sent[0].first, Outcome::accepted, now).known);
    EXPECT_EQ(queue.settle(port.sent[1].first, Outcome::released, now).message_id, "m-2");
    queue.settle(port.sent[2].first, Outcome::rejected, now);
    queue.settle(port.sent[3].first, Outcome::modified, now);
    dispatch();
    ASSERT_EQ(port.sent.size(), 7U);
    EXPECT_EQ(port.sent[4].second, "m-2");
    EXPECT_EQ(port.sent[5].second, "m-3");
    EXPECT_EQ(port.sent[6].second, "m-4");
    const auto& c = queue.counters();
    EXPECT_EQ(c.accepted, 1U);
    EXPECT_EQ(c.released, 1U);
    EXPECT_EQ(c.rejected, 1U);
    EXPECT_EQ(c.modified, 1U);
    EXPECT_EQ(c.delivered, 7U);
    EXPECT_EQ(c.redelivered, 3U);
    EXPECT_FALSE(queue.settle(port.sent[0].first, Outcome::accepted, now).known) << "already finished";
}

TEST_F(QueueTest, ConsumerLossRequeuesItsUnsettledMessagesForTheOthers) {
    FakePort a, b;
    a.credit_ = 2;
    queue.add_consumer(1, &a);
    queue.add_consumer(2, &b);
    queue.publish(publication(2), 0, 2);
    dispatch();
    ASSERT_EQ(a.sent.size(), 2U);
    queue.settle(a.sent[0].first, Outcome::accepted, now);
    EXPECT_EQ(queue.remove_consumer(1, now), 1U);
    b.credit_ = 5;
    dispatch();
    ASSERT_EQ(b.sent.size(), 1U);
    EXPECT_EQ(b.sent[0].second, "m-2");
    EXPECT_EQ(queue.counters().requeued_on_loss, 1U);
    EXPECT_EQ(queue.counters().redelivered, 1U);
}

TEST_F(QueueTest, AckTimeoutRequeuesAndALateAcceptIsStillCounted) {
    GroupQueue q(milliseconds(1000), milliseconds(0));
    FakePort port;
    port.credit_ = 5;
    q.add_consumer(1, &port);
    q.publish(publication(1), 0, 1);
    q.dispatch(now, 0);
    ASSERT_EQ(port.sent.size(), 1U);
    EXPECT_TRUE(q.expire(now + milliseconds(999)).empty());
    const auto timed_out = q.expire(now + milliseconds(1000));
    ASSERT_EQ(timed_out.size(), 1U);
    EXPECT_EQ(timed_out[0].message_id, "m-1");
    EXPECT_EQ(q.counters().in_flight, 0U);
    q.dispatch(now + milliseconds(1000), 0);
    ASSERT_EQ(port.sent.size(), 2U);
    EXPECT_EQ(port.sent[1].second, "m-1");
    const auto late = q.settle(port.sent[0].first, Outcome::accepted, now);
    EXPECT_TRUE(late.late);
    q.settle(port.sent[1].first, Outcome::accepted, now);
    EXPECT_EQ(q.counters().accepted, 2U);
    EXPECT_EQ(q.counters().late_accepts, 1U);
    EXPECT_EQ(q.counters().ack_timeouts, 1U);
    EXPECT_EQ(q.counters().queued, 0U);
}

TEST_F(QueueTest, RedeliveryDelayHoldsARetryBack) {
    GroupQueue q(milliseconds(30000), milliseconds(500));
    FakePort port;
    port.credit_ = 5;
    q.add_consumer(1, &port);
    q.publish(publication(1), 0, 1);
    q.dispatch(now, 0);
    q.settle(port.sent[0].first, Outcome::released, now);
    q.dispatch(now + milliseconds(499), 0);
    EXPECT_EQ(port.sent.size(), 1U);
    EXPECT_EQ(q.counters().queued, 1U);
    q.dispatch(now + milliseconds(500), 0);
    EXPECT_EQ(port.sent.size(), 2U);
}

TEST(RateLimiter, UnlimitedByDefaultAndARateRefillsWithTimeUpToATenthOfASecond) {
    const auto t0 = Clock::now();
    RateLimiter none;
    EXPECT_FALSE(none.limited());
    EXPECT_GT(none.available(t0), 1'000'000U);

    RateLimiter limit(200, t0);  // burst: 20
    EXPECT_EQ(limit.available(t0), 20U);
    for (int i = 0; i < 20; ++i) limit.take(t0);
    EXPECT_EQ(limit.available(t0), 0U);
    EXPECT_EQ(limit.available(t0 + milliseconds(50)), 10U);
    EXPECT_EQ(limit.available(t0 + milliseconds(10'000)), 20U) << "an idle bucket holds one burst, no more";

    // One second of sends as fast as allowed, checked every 50 ms (the emulator's tick): 200 + the burst.
    std::size_t sent = 0;
    RateLimiter paced(200, t0);
    for (auto t = t0; t <= t0 + milliseconds(1000); t += milliseconds(50))
        while (paced.available(t) > 0) {
            paced.take(t);
            ++sent;
        }
    EXPECT_EQ(sent, 220U);
}

TEST_F(QueueTest, TheBacklogIsRepushedAtItsRateWhileNewMessagesPassIt) {
    queue.set_backlog_rate(10, now);  // burst: 1
    FakePort port;
    port.credit_ = 3;
    queue.add_consumer(1, &port);
    queue.publish(publication(3), 0, 3);
    dispatch();
    ASSERT_EQ(port.sent.size(), 3U);
    for (const auto& [id, message_id] : port.sent) queue.settle(id, Outcome::released, now);  // 3 in the backlog
    queue.publish(publication(5), 0, 5);  // new: m-1..m-5 again, told apart by position
    port.credit_ = 100;
    dispatch();
    // One redelivery (the burst), then the new messages go past the rest of the backlog.
    ASSERT_EQ(port.sent.size(), 3U + 1U + 5U);
    EXPECT_EQ(queue.counters().redelivered, 1U);
    EXPECT_EQ(queue.counters().queued, 2U);
    now += milliseconds(100);
    dispatch();
    EXPECT_EQ(queue.counters().redelivered, 2U) << "10/s: one more after 100 ms";
    now += milliseconds(100);
    dispatch();
    EXPECT_EQ(queue.counters().redelivered, 3U);
    EXPECT_EQ(queue.counters().queued, 0U);
}

TEST_F(QueueTest, DuplicatesRepeatTheFirstIds) {
    FakePort port;
    port.credit_ = 100;
    queue.add_consumer(1, &port);
    const auto pub = publication(3, 2);
    queue.publish(pub, 0, pub->total());
    dispatch();
    std::vector<std::string> ids;
    for (const auto& s : port.sent) ids.push_back(s.second);
    EXPECT_EQ(ids, (std::vector<std::string>{"m-1", "m-2", "m-3", "m-1", "m-2"}));
    EXPECT_EQ(queue.counters().published, 5U);
}

}  // namespace
}  // namespace iot::emu
