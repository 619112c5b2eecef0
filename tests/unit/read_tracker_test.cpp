// The inference of which datagrams a reader consumed, from the sender's queued
// bytes, and the rule that it only counts once the reader is proven alive.
#include "iot-amqpd/read_tracker.hpp"

#include <gtest/gtest.h>

namespace iot {
namespace {

TEST(ReadTracker, NothingCountsAsReadWhileTheQueueCanHoldEverything) {
    ReadTracker t;
    EXPECT_EQ(t.sent(100), 1u);
    EXPECT_EQ(t.sent(100), 2u);
    t.observe_queued(5000);
    EXPECT_EQ(t.sent(100), 3u);
    EXPECT_EQ(t.resolved_through(), 0u);
    EXPECT_FALSE(t.awaiting_proof());
}

TEST(ReadTracker, AnEmptyQueueCountsOnlyAfterALaterSendSucceeded) {
    ReadTracker t;
    t.sent(100);
    t.sent(100);
    t.observe_queued(0);
    EXPECT_EQ(t.resolved_through(), 0u) << "an empty queue may mean the reader died";
    EXPECT_TRUE(t.awaiting_proof());
    t.sent(0);  // e.g. a probe: the reader is alive
    EXPECT_EQ(t.resolved_through(), 2u);
    EXPECT_FALSE(t.awaiting_proof());
}

TEST(ReadTracker, APartlyDrainedQueueProvesTheOlderDatagramsRead) {
    ReadTracker t;
    t.sent(100);
    t.sent(100);
    t.sent(100);
    // 150 bytes can be at most one of them (each takes at least 100): the first two were read.
    t.observe_queued(150);
    t.sent(10);
    EXPECT_EQ(t.resolved_through(), 2u);
    // 250 bytes could still be datagrams 3 and 4 (100 + 10 bytes at least): nothing more is proven.
    t.observe_queued(250);
    t.sent(10);
    EXPECT_EQ(t.resolved_through(), 2u);
}

TEST(ReadTracker, AReaderThatDiedLosesWhatWasNotProvenRead) {
    ReadTracker t;
    t.sent(100);
    t.observe_queued(0);
    t.sent(100);  // proves datagram 1 read
    t.sent(100);
    t.observe_queued(0);  // maybe read, maybe purged by the reader's death
    const WriteRange lost = t.reader_lost();
    EXPECT_EQ(lost.first, 2u);
    EXPECT_EQ(lost.last, 3u);
    EXPECT_EQ(t.resolved_through(), 3u) << "lost writes are resolved: reported once, not waited for";
    EXPECT_EQ(t.sent(100), 4u) << "numbers keep counting for the next reader";
    EXPECT_EQ(t.resolved_through(), 3u);
}

TEST(ReadTracker, OnlyTheUnprovenTailIsLost) {
    ReadTracker t;
    t.sent(100);
    t.observe_queued(0);
    t.sent(0);
    t.observe_queued(0);
    EXPECT_EQ(t.sent(0), 3u);
    const WriteRange lost = t.reader_lost();
    EXPECT_EQ(lost.first, 3u) << "1 and 2 were proven read";
    EXPECT_EQ(lost.last, 3u);
    EXPECT_TRUE(t.reader_lost().empty()) << "nothing new since";
}

TEST(ReadTracker, AnEmptyDatagramStillCountsAsOccupyingSomething) {
    ReadTracker t;
    t.sent(0);
    t.observe_queued(0);
    t.sent(0);
    EXPECT_EQ(t.resolved_through(), 1u);
}

}  // namespace
}  // namespace iot
