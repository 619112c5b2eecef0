#include "iot-amqpd/dedup.hpp"

#include <gtest/gtest.h>

#include <string>

namespace iot {
namespace {

TEST(Dedup, RemembersUpToCapacityAndForgetsTheOldest) {
    DedupWindow window(3);
    window.remember("a");
    window.remember("b");
    window.remember("c");
    EXPECT_TRUE(window.contains("a"));
    window.remember("d");
    EXPECT_FALSE(window.contains("a"));
    EXPECT_TRUE(window.contains("b"));
    EXPECT_TRUE(window.contains("d"));
    EXPECT_EQ(window.size(), 3U);
}

TEST(Dedup, RememberingTwiceDoesNotEvictOthers) {
    DedupWindow window(2);
    window.remember("a");
    window.remember("b");
    window.remember("b");
    EXPECT_TRUE(window.contains("a"));
    EXPECT_TRUE(window.contains("b"));
}

TEST(Dedup, ZeroCapacityTurnsItOff) {
    DedupWindow window(0);
    window.remember("a");
    EXPECT_FALSE(window.contains("a"));
    EXPECT_EQ(window.size(), 0U);
}

TEST(Dedup, KeysStayValidAcrossManyInsertions) {
    DedupWindow window(1000);
    for (int i = 0; i < 50000; ++i) window.remember("message-" + std::to_string(i));
    for (int i = 49000; i < 50000; ++i) EXPECT_TRUE(window.contains("message-" + std::to_string(i)));
    EXPECT_FALSE(window.contains("message-48999"));
}

}  // namespace
}  // namespace iot

namespace iot {
namespace {

TEST(Dedup, ForgottenIdsAreNoLongerDuplicates) {
    DedupWindow w(3);
    w.remember("a");
    w.remember("b");
    w.forget("a");
    EXPECT_FALSE(w.contains("a"));
    EXPECT_TRUE(w.contains("b"));
    w.forget("never-seen");
    EXPECT_TRUE(w.contains("b"));
}

TEST(Dedup, AnIdRememberedAgainSurvivesItsForgottenCopyAgeingOut) {
    DedupWindow w(3);
    w.remember("a");
    w.forget("a");
    w.remember("a");  // e.g. found in the journal after all
    w.remember("b");
    w.remember("c");  // evicts the forgotten copy of "a", not the live one
    EXPECT_TRUE(w.contains("a"));
    w.remember("d");
    w.remember("e");
    EXPECT_FALSE(w.contains("a")) << "the live copy ages out in its turn";
    EXPECT_TRUE(w.contains("e"));
}

}  // namespace
}  // namespace iot
