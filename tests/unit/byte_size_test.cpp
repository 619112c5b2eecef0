#include "iot-amqpd/byte_size.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>

namespace iot {
namespace {

TEST(ByteSize, ParsesEachUnit) {
    EXPECT_EQ(parse_byte_size("0B"), 0);
    EXPECT_EQ(parse_byte_size("1500B"), 1500);
    EXPECT_EQ(parse_byte_size("64KiB"), 64 * 1024);
    EXPECT_EQ(parse_byte_size("8MiB"), 8 * 1024 * 1024);
    EXPECT_EQ(parse_byte_size("1GiB"), 1LL << 30);
    EXPECT_EQ(parse_byte_size("9223372036854775807B"), std::numeric_limits<std::int64_t>::max());
}

TEST(ByteSize, RejectsWhatIsNotDigitsAndAnIecUnit) {
    for (const char* text : {"", "8", "MiB", "-1MiB", "1.5MiB", "8MB", "8mib", "8 MiB", "8M", "8KB", "8TiB",
                             "9223372036854775808B", "8589934592GiB"})
        EXPECT_FALSE(parse_byte_size(text).has_value()) << text;
}

TEST(ByteSize, FormatsWithTheLargestExactUnit) {
    EXPECT_EQ(format_byte_size(8LL << 20), "8MiB");
    EXPECT_EQ(format_byte_size(3072), "3KiB");
    EXPECT_EQ(format_byte_size(1500), "1500B");
    EXPECT_EQ(format_byte_size(1LL << 30), "1GiB");
    EXPECT_EQ(format_byte_size(0), "0B");
    for (std::int64_t bytes : {1LL, 1023LL, 1024LL, 65536LL, 123456789LL, 1LL << 40})
        EXPECT_EQ(parse_byte_size(format_byte_size(bytes)), bytes);
}

}  // namespace
}  // namespace iot
