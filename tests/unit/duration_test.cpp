#include "iot-amqpd/duration.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <limits>
#include <string>

namespace iot {
namespace {

using namespace std::chrono_literals;

struct GoodDuration {
    std::string text;
    Millis value;
};

std::ostream& operator<<(std::ostream& out, const GoodDuration& d) { return out << '"' << d.text << '"'; }

class ParsesDuration : public ::testing::TestWithParam<GoodDuration> {};

TEST_P(ParsesDuration, ToItsValue) {
    const auto parsed = parse_duration(GetParam().text);
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(*parsed, GetParam().value);
}

INSTANTIATE_TEST_SUITE_P(Table, ParsesDuration,
                         ::testing::Values(GoodDuration{"0s", 0ms}, GoodDuration{"0ms", 0ms}, GoodDuration{"1ms", 1ms},
                                           GoodDuration{"1500ms", 1500ms}, GoodDuration{"60s", 60s},
                                           GoodDuration{"007s", 7s}, GoodDuration{"5m", 5min}, GoodDuration{"2h", 2h},
                                           GoodDuration{"9223372036854775807ms", Millis::max()},
                                           GoodDuration{"2562047788015h", Millis{2562047788015LL * 3600000LL}}));

class RejectsDuration : public ::testing::TestWithParam<std::string> {};

TEST_P(RejectsDuration, WithNullopt) { EXPECT_FALSE(parse_duration(GetParam()).has_value()) << GetParam(); }

INSTANTIATE_TEST_SUITE_P(Table, RejectsDuration,
                         ::testing::Values("", "60", "s", "ms", "-5s", "+5s", "1.5s", ".5s", "5 s", " 5s", "5s ", "5S",
                                           "5Ms", "5sec", "5d", "1h30m", "5us", "0x10s", "1e3ms",
                                           "9223372036854775808ms",  // one past the largest count of ms
                                           "9223372036854775807s",   // fits as digits, overflows as ms
                                           "2562047788016h", "99999999999999999999999h"));

struct Spelling {
    Millis value;
    std::string text;
};

std::ostream& operator<<(std::ostream& out, const Spelling& s) { return out << s.text; }

class FormatsDuration : public ::testing::TestWithParam<Spelling> {};

TEST_P(FormatsDuration, AsDesignWritesIt) { EXPECT_EQ(format_duration(GetParam().value), GetParam().text); }

INSTANTIATE_TEST_SUITE_P(Table, FormatsDuration,
                         ::testing::Values(Spelling{0ms, "0s"}, Spelling{1ms, "1ms"}, Spelling{100ms, "100ms"},
                                           Spelling{1500ms, "1500ms"}, Spelling{1s, "1s"}, Spelling{30s, "30s"},
                                           Spelling{60s, "60s"}, Spelling{300s, "300s"}, Spelling{9min, "540s"},
                                           Spelling{10min, "10m"}, Spelling{90min, "90m"}, Spelling{1h, "1h"},
                                           Spelling{25h, "25h"}, Spelling{-1500ms, "-1500ms"}, Spelling{-2h, "-2h"}));

TEST(FormatDuration, RoundTripsThroughParse) {
    for (const Millis value :
         std::initializer_list<Millis>{1ms, 999ms, 1001ms, 59s, 61s, 599s, 600s, 3599s, 3600s, 86400s, Millis::max()}) {
        const std::string text = format_duration(value);
        const auto parsed = parse_duration(text);
        ASSERT_TRUE(parsed.has_value()) << text;
        EXPECT_EQ(*parsed, value) << text;
    }
}

TEST(FormatDuration, SurvivesTheSmallestValue) {
    EXPECT_EQ(format_duration(Millis::min()), std::to_string(std::numeric_limits<Millis::rep>::min()) + "ms");
}

}  // namespace
}  // namespace iot
