// The bookkeeping of "acknowledged means stored": what is stored, what was
// dropped, and what goes out again, in which order and when.
#include "iot-amqpd/store_tracker.hpp"

#include <gtest/gtest.h>

namespace iot {
namespace {

using Clock = StoreTracker::Clock;
using std::chrono::milliseconds;

const Clock::time_point t0{};

TEST(StoreTracker, WritesAreStoredInOrderWhateverOrderTheyAreFoundIn) {
    StoreTracker t;
    EXPECT_EQ(t.add_sent("a", 1), 1u);
    EXPECT_EQ(t.add_sent("b", 2), 2u);
    EXPECT_EQ(t.add_sent("c", 3), 3u);
    t.seen({2, 3});
    EXPECT_EQ(t.stored_through(), 0u) << "write 1 is not found yet";
    t.seen({1});
    EXPECT_EQ(t.stored_through(), 3u);
    EXPECT_EQ(t.unstored(), 0u);
    EXPECT_FALSE(t.awaiting_verdict());
    t.seen({1, 2});  // found twice (a flush copies the runtime journal): ignored
    EXPECT_EQ(t.stored_through(), 3u);
    EXPECT_EQ(t.dropped(), 0u);
}

TEST(StoreTracker, ADecidedEntryNotFoundWasDroppedAndIsSentAgainAloneFirst) {
    StoreTracker t;
    t.add_sent("a", 1);
    t.add_sent("b", 2);
    t.add_sent("c", 3);
    t.seen({2});
    t.decided(2, t0);  // journald finished with 1 and 2; only 2 is in the journal
    EXPECT_EQ(t.dropped(), 1u);
    EXPECT_FALSE(t.holding()) << "one drop may be a one-off";
    EXPECT_FALSE(t.sending_freely());
    const auto probe = t.next_to_send(t0);
    ASSERT_TRUE(probe);
    EXPECT_EQ(*probe, 1u);
    EXPECT_EQ(t.entry(1), "a") << "the entry's bytes were kept";
    t.sent(1, 4);
    EXPECT_EQ(t.add_queued("d"), 4u) << "new writes queue behind the probe";
    EXPECT_FALSE(t.next_to_send(t0)) << "one probe at a time";
    t.seen({3, 4});  // the probe is stored: journald stores again
    EXPECT_TRUE(t.sending_freely() || t.next_to_send(t0));
    const auto next = t.next_to_send(t0);
    ASSERT_TRUE(next);
    EXPECT_EQ(*next, 4u);
    t.sent(4, 5);
    EXPECT_EQ(t.stored_through(), 3u);
    t.seen({5});
    EXPECT_EQ(t.stored_through(), 4u);
    EXPECT_TRUE(t.sending_freely());
}

TEST(StoreTracker, WhileProbesAreDroppedItHoldsAndProbesLessOften) {
    StoreTracker t;
    t.add_sent("a", 1);
    t.decided(1, t0);
    ASSERT_EQ(t.next_to_send(t0), std::optional<std::uint64_t>(1));
    t.sent(1, 2);
    t.decided(2, t0);  // the probe was dropped too: journald stores nothing
    EXPECT_TRUE(t.holding());
    EXPECT_EQ(t.dropped(), 2u);
    EXPECT_FALSE(t.next_to_send(t0 + milliseconds(99)));
    ASSERT_TRUE(t.next_to_send(t0 + kFirstProbeDelay));
    t.sent(1, 3);
    const auto later = t0 + kFirstProbeDelay;
    t.decided(3, later);
    EXPECT_FALSE(t.next_to_send(later + kFirstProbeDelay + milliseconds(99))) << "the delay doubles";
    EXPECT_TRUE(t.next_to_send(later + 2 * kFirstProbeDelay));
    EXPECT_EQ(t.stored_through(), 0u) << "nothing dropped counts as stored";
    t.sent(1, 4);
    t.seen({4});
    EXPECT_FALSE(t.holding());
    EXPECT_EQ(t.stored_through(), 1u);
}

TEST(StoreTracker, TheDelayStopsGrowingAtItsLimit) {
    StoreTracker t;
    t.add_sent("a", 1);
    auto now = t0;
    std::uint64_t datagram = 1;
    t.decided(datagram, now);
    for (int i = 0; i < 12; ++i) {
        const auto due = t.next_to_send(now + kMaxProbeDelay);
        ASSERT_TRUE(due) << "round " << i;
        now += kMaxProbeDelay;
        t.sent(*due, ++datagram);
        t.decided(datagram, now);
    }
    EXPECT_TRUE(t.next_to_send(now + kMaxProbeDelay));
}

TEST(StoreTracker, AFailedSendStaysQueuedAndIsTriedAgainLater) {
    StoreTracker t;
    t.add_sent("a", 1);
    t.decided(1, t0);
    const auto probe = t.next_to_send(t0);
    ASSERT_TRUE(probe);
    t.send_failed(*probe, t0);
    EXPECT_FALSE(t.next_to_send(t0));
    EXPECT_TRUE(t.next_to_send(t0 + kFirstProbeDelay));
    EXPECT_EQ(t.entry(1), "a");
}

TEST(StoreTracker, UndecidedEntriesAreNeitherStoredNorDropped) {
    StoreTracker t;
    t.add_sent("a", 1);
    t.add_sent("b", 2);
    t.decided(0, t0);
    EXPECT_EQ(t.dropped(), 0u);
    EXPECT_TRUE(t.awaiting_verdict());
    EXPECT_EQ(t.unstored(), 2u);
    EXPECT_TRUE(t.sending_freely());
}

// The reader counts a writer's entries and reads the number of the last one
// only: a count that adds up proves every entry up to that one stored.
TEST(StoreTracker, ACountThatAddsUpStoresEveryEntryUpToTheLast) {
    StoreTracker t;
    t.add_sent("a", 1);
    t.add_sent("b", 2);
    t.add_sent("c", 4);  // datagram 3 was an empty probe, not an entry
    t.add_sent("d", 5);
    t.found(3, 4, false);
    EXPECT_EQ(t.stored_through(), 3u);
    t.found(1, 5, false);
    EXPECT_EQ(t.stored_through(), 4u);
    EXPECT_FALSE(t.awaiting_verdict());
    EXPECT_EQ(t.dropped(), 0u);
}

TEST(StoreTracker, ACountThatFallsShortMarksNothingAndTheLookUpDecides) {
    StoreTracker t;
    t.add_sent("a", 1);
    t.add_sent("b", 2);
    t.add_sent("c", 3);
    t.found(2, 3, false);  // one of 1..3 is missing, which one is unknown
    EXPECT_EQ(t.stored_through(), 0u);
    EXPECT_EQ(t.unseen_through(3), (std::vector<std::uint64_t>{1, 2, 3}));
    t.seen({1, 3});  // what the look-up found
    t.decided(3, t0);
    EXPECT_EQ(t.dropped(), 1u);
    EXPECT_EQ(t.stored_through(), 1u);
    EXPECT_EQ(t.next_to_send(t0), std::optional<std::uint64_t>(2));
}

TEST(StoreTracker, ACountWithTooManyEntriesOrAnUncertainOneMarksNothing) {
    StoreTracker t;
    t.add_sent("a", 1);
    t.add_sent("b", 2);
    t.found(3, 2, false);  // a copy counted besides the originals
    EXPECT_EQ(t.stored_through(), 0u);
    t.add_sent("c", 3);
    t.found(1, 3, true);  // adds up, but the reader saw an entry out of order
    EXPECT_EQ(t.stored_through(), 0u);
    EXPECT_EQ(t.unseen_through(3), (std::vector<std::uint64_t>{1, 2, 3}));
}

TEST(StoreTracker, ACountEndingAtOrBeforeTheLastReportedIsIgnored) {
    StoreTracker t;
    t.add_sent("a", 1);
    t.add_sent("b", 2);
    t.found(1, 1, false);
    t.found(1, 1, false);  // the same entry again (a copy): proves nothing about 2
    EXPECT_EQ(t.stored_through(), 1u);
    EXPECT_TRUE(t.awaiting_verdict());
    t.found(1, 2, false);
    EXPECT_EQ(t.stored_through(), 2u);
}

TEST(StoreTracker, ACountAfterADropCountsOnlyTheEntriesStillAwaitingAVerdict) {
    StoreTracker t;
    t.add_sent("a", 1);
    t.add_sent("b", 2);
    t.found(1, 2, false);  // 1 is missing
    t.seen({2});           // the look-up
    t.decided(2, t0);      // 1 was dropped, and is queued to go again
    const auto probe = t.next_to_send(t0);
    ASSERT_EQ(probe, std::optional<std::uint64_t>(1));
    t.sent(*probe, 3);
    t.found(1, 3, false);
    EXPECT_EQ(t.stored_through(), 2u);
    EXPECT_TRUE(t.sending_freely());
}

TEST(StoreTracker, StoredBuffersAreReused) {
    StoreTracker t;
    std::string big(1000, 'x');
    t.add_sent(std::move(big), 1);
    t.seen({1});
    const std::string spare = t.spare_buffer();
    EXPECT_TRUE(spare.empty());
    EXPECT_GE(spare.capacity(), 1000u);
}

}  // namespace
}  // namespace iot
