#include "user_name.hpp"

#include <gtest/gtest.h>

namespace iot::emu {
namespace {

constexpr const char* kGood =
    "box-1|authMode=aksign,signMethod=hmacsha1,timestamp=1573489088171,authId=LTAI_TEST_AK,"
    "iotInstanceId=iot-06z00test,consumerGroupId=CG1|";

TEST(EmulatorUserName, ParsesEveryKeyOfAGoodName) {
    const auto r = parse_user_name(kGood);
    ASSERT_TRUE(r.user) << r.error;
    EXPECT_EQ(r.user->client_id, "box-1");
    EXPECT_EQ(r.user->auth_mode, AuthMode::aksign);
    EXPECT_EQ(r.user->sign_method, SignMethod::hmacsha1);
    EXPECT_EQ(r.user->timestamp_ms, 1573489088171);
    EXPECT_EQ(r.user->auth_id, "LTAI_TEST_AK");
    EXPECT_EQ(r.user->consumer_group_id, "CG1");
    EXPECT_EQ(r.user->iot_instance_id, "iot-06z00test");
    EXPECT_FALSE(r.user->security_token);
}

TEST(EmulatorUserName, KeyOrderDoesNotMatterAndUnknownKeysAreIgnored) {
    const auto r =
        parse_user_name("c|consumerGroupId=CG1,authId=AK,future=1,timestamp=5,signMethod=hmacmd5,authMode=aksign|");
    ASSERT_TRUE(r.user) << r.error;
    EXPECT_EQ(r.user->consumer_group_id, "CG1");
    EXPECT_EQ(r.user->sign_method, SignMethod::hmacmd5);
    EXPECT_FALSE(r.user->iot_instance_id);
}

TEST(EmulatorUserName, SignMethodIsCaseInsensitive) {
    const auto r = parse_user_name("c|authMode=aksign,signMethod=Hmacsha1,timestamp=5,authId=AK,consumerGroupId=G|");
    ASSERT_TRUE(r.user) << r.error;
    EXPECT_EQ(r.user->sign_method, SignMethod::hmacsha1);
}

TEST(EmulatorUserName, SplitsAtTheFirstAndLastBar) {
    // A '|' inside a value belongs to the parameters, not the client id.
    const auto r = parse_user_name("c|authMode=aksign,signMethod=hmacsha1,timestamp=5,authId=A|K,consumerGroupId=G|");
    ASSERT_TRUE(r.user) << r.error;
    EXPECT_EQ(r.user->client_id, "c");
    EXPECT_EQ(r.user->auth_id, "A|K");
}

TEST(EmulatorUserName, TrailingBarIsRequired) {
    const auto r = parse_user_name("c|authMode=aksign,signMethod=hmacsha1,timestamp=5,authId=AK,consumerGroupId=G");
    EXPECT_FALSE(r.user);
    EXPECT_NE(r.error.find("|"), std::string::npos);
    EXPECT_FALSE(
        parse_user_name("c|authMode=aksign,signMethod=hmacsha1,timestamp=5,authId=AK,consumerGroupId=G|x").user);
}

TEST(EmulatorUserName, EachRequiredKeyIsRequired) {
    const std::string full[] = {"authMode=aksign", "signMethod=hmacsha1", "timestamp=5", "authId=AK",
                                "consumerGroupId=G"};
    for (std::size_t skip = 0; skip < 5; ++skip) {
        std::string params;
        for (std::size_t i = 0; i < 5; ++i)
            if (i != skip) params += (params.empty() ? "" : ",") + full[i];
        const auto r = parse_user_name("c|" + params + "|");
        EXPECT_FALSE(r.user) << "without " << full[skip];
        EXPECT_NE(r.error.find("missing"), std::string::npos) << r.error;
    }
}

TEST(EmulatorUserName, RejectsBadValues) {
    const char* bad[] = {
        "c|authMode=appkey,signMethod=hmacsha1,timestamp=5,authId=AK,consumerGroupId=G|",
        "c|authMode=aksign,signMethod=sha1,timestamp=5,authId=AK,consumerGroupId=G|",
        "c|authMode=aksign,signMethod=hmacsha1,timestamp=12ab,authId=AK,consumerGroupId=G|",
        "c|authMode=aksign,signMethod=hmacsha1,timestamp=0123,authId=AK,consumerGroupId=G|",
        "c|authMode=aksign,signMethod=hmacsha1,timestamp=5,authId=AK,consumerGroupId=G,authId=AK2|",
        "c|authMode=aksign,,signMethod=hmacsha1,timestamp=5,authId=AK,consumerGroupId=G|",
        "c|authMode=ststoken,signMethod=hmacsha1,timestamp=5,authId=AK,consumerGroupId=G|",
        "|authMode=aksign,signMethod=hmacsha1,timestamp=5,authId=AK,consumerGroupId=G|",
        "no-bars-at-all",
    };
    for (const char* name : bad) EXPECT_FALSE(parse_user_name(name).user) << name;
}

TEST(EmulatorUserName, ClientIdIsOneToSixtyFourCharacters) {
    const std::string params = "|authMode=aksign,signMethod=hmacsha1,timestamp=5,authId=AK,consumerGroupId=G|";
    EXPECT_TRUE(parse_user_name(std::string(64, 'a') + params).user);
    EXPECT_FALSE(parse_user_name(std::string(65, 'a') + params).user);
    // Characters, not bytes: 40 three-byte characters are fine.
    std::string cjk;
    for (int i = 0; i < 40; ++i) cjk += "\xe6\xb5\x8b";
    EXPECT_TRUE(parse_user_name(cjk + params).user);
}

TEST(EmulatorUserName, StstokenCarriesTheTokenAndFailuresStillNameTheGroup) {
    const auto r = parse_user_name(
        "c|authMode=ststoken,signMethod=hmacsha1,timestamp=5,authId=AK,consumerGroupId=G,securityToken=STS.X|");
    ASSERT_TRUE(r.user) << r.error;
    ASSERT_TRUE(r.user->security_token);
    EXPECT_TRUE(r.user->security_token->equals("STS.X"));

    const auto bad = parse_user_name("c|authMode=nope,consumerGroupId=G9|");
    EXPECT_FALSE(bad.user);
    EXPECT_EQ(bad.consumer_group_hint, "G9");
    EXPECT_EQ(bad.client_id_hint, "c");
}

}  // namespace
}  // namespace iot::emu
