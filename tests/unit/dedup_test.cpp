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
