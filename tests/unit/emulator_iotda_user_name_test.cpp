#include "iotda_user_name.hpp"

#include <gtest/gtest.h>

namespace iot::emu {
namespace {

TEST(EmulatorIotdaUserName, ParsesTheDocumentedForms) {
    const auto plain = parse_iotda_user_name("accessKey=AbCdEfGh|timestamp=1764930600123");
    ASSERT_TRUE(plain.user) << plain.error;
    EXPECT_EQ(plain.user->access_key, "AbCdEfGh");
    EXPECT_EQ(plain.user->timestamp_ms, 1764930600123);
    EXPECT_FALSE(plain.user->instance_id);

    const auto with_instance = parse_iotda_user_name("accessKey=AbCdEfGh|timestamp=1764930600123|instanceId=inst-1");
    ASSERT_TRUE(with_instance.user) << with_instance.error;
    EXPECT_EQ(with_instance.user->instance_id, "inst-1");
}

TEST(EmulatorIotdaUserName, TellsTheDialectsApart) {
    EXPECT_TRUE(is_iotda_user_name("accessKey=X|timestamp=1764930600123"));
    EXPECT_FALSE(is_iotda_user_name("box-1|authMode=aksign,signMethod=hmacsha1,timestamp=5,authId=AK|"));
    EXPECT_FALSE(is_iotda_user_name("accesskey=X|timestamp=1764930600123"));
}

TEST(EmulatorIotdaUserName, TimestampIsThirteenDigits) {
    for (const char* ts : {"1764930600", "17649306001234", "176493060012x", "", "-764930600123", "+764930600123"}) {
        const auto r = parse_iotda_user_name(std::string("accessKey=A|timestamp=") + ts);
        EXPECT_FALSE(r.user) << ts;
        EXPECT_FALSE(r.error.empty());
    }
}

TEST(EmulatorIotdaUserName, RefusesMissingExtraRepeatedAndEmptyFields) {
    const char* bad[] = {
        "accessKey=A",                                                  // no timestamp
        "accessKey=A|",                                                 // no timestamp, stray bar
        "accessKey=A|timestamp=1764930600123|",                         // trailing bar
        "accessKey=A|timestamp=1764930600123|instanceId=",              // empty instance id
        "accessKey=|timestamp=1764930600123",                           // empty access key
        "accessKey=A|timestamp=1764930600123|instanceId=i|extra=1",     // a fourth field
        "accessKey=A|timestamp=1764930600123|timestamp=1764930600123",  // repeated
        "accessKey=A|accessKey=A|timestamp=1764930600123",              // repeated
        "timestamp=1764930600123|accessKey=A",                          // out of order
        "accessKey=A|instanceId=i|timestamp=1764930600123",             // out of order
        "accessKey=A|timestamp=1764930600123|region=x",                 // unknown
        "accessKey=A|timestamp",                                        // not key=value
    };
    for (const char* text : bad) {
        const auto r = parse_iotda_user_name(text);
        EXPECT_FALSE(r.user) << text;
        EXPECT_FALSE(r.error.empty()) << text;
    }
}

TEST(EmulatorIotdaUserName, KeepsTheAccessKeyOfAnInvalidName) {
    const auto r = parse_iotda_user_name("accessKey=AbCdEfGh|timestamp=12");
    EXPECT_FALSE(r.user);
    EXPECT_EQ(r.access_key_hint, "AbCdEfGh");
}

}  // namespace
}  // namespace iot::emu
