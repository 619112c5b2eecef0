#include "iot-amqpd/signer.hpp"

#include <gtest/gtest.h>

namespace iot {
namespace {

// The vectors of PROTOCOL.md §2.2.
constexpr std::int64_t kTimestamp = 1573489088171;

struct Vector {
    SignMethod method;
    const char* password;
};

class SignerVectors : public ::testing::TestWithParam<Vector> {};

TEST_P(SignerVectors, AksignPasswordMatchesPublishedVector) {
    const Secret secret("test-secret-123");
    const auto data = string_to_sign("LTAI_TEST_AK", nullptr, kTimestamp);
    EXPECT_EQ(data, "authId=LTAI_TEST_AK&timestamp=1573489088171");
    EXPECT_EQ(hmac_base64(GetParam().method, secret, data).reveal(), GetParam().password);
}

INSTANTIATE_TEST_SUITE_P(AllMethods, SignerVectors,
                         ::testing::Values(Vector{SignMethod::hmacmd5, "VdzjQh6kpbnQ1Bmq7neR9w=="},
                                           Vector{SignMethod::hmacsha1, "sfofchE0KRB0NZ/kojkfDKhyoPE="},
                                           Vector{SignMethod::hmacsha256,
                                                  "6k/ckjbaHRoDzo6y2P1mG0hnXHFxA4dQj8O+XUCnrv8="}));

TEST(Signer, StstokenSignsTheTokenBetweenAuthIdAndTimestamp) {
    const Secret secret("test-secret-123");
    const Secret token("STS.TOKEN.EXAMPLE");
    SignRequest req;
    req.auth_mode = AuthMode::ststoken;
    req.sign_method = SignMethod::hmacsha1;
    req.access_key_id = "LTAI_TEST_AK";
    req.access_key_secret = &secret;
    req.security_token = &token;
    req.timestamp_ms = kTimestamp;
    req.client_id = "host-a";
    req.consumer_group_id = "CG1";
    const auto creds = sign(req);
    EXPECT_EQ(creds.password.reveal(), "0BMPAYYApYf4HEPDNf78ZEFkfsI=");
    EXPECT_EQ(creds.user_name,
              "host-a|authMode=ststoken,signMethod=hmacsha1,timestamp=1573489088171,authId=LTAI_TEST_AK,"
              "iotInstanceId=,consumerGroupId=CG1,securityToken=STS.TOKEN.EXAMPLE|");
}

TEST(Signer, AksignUserNameHasEveryRequiredKeyAndTrailingBar) {
    const Secret secret("test-secret-123");
    SignRequest req;
    req.sign_method = SignMethod::hmacsha256;
    req.access_key_id = "LTAI_TEST_AK";
    req.access_key_secret = &secret;
    req.timestamp_ms = kTimestamp;
    req.client_id = "box-factory-a-2";
    req.consumer_group_id = "VWhGZ2QnP7kxWpeSSjt1234";
    req.iot_instance_id = "iot-06z00abcdef";
    const auto creds = sign(req);
    EXPECT_EQ(creds.user_name,
              "box-factory-a-2|authMode=aksign,signMethod=hmacsha256,timestamp=1573489088171,authId=LTAI_TEST_AK,"
              "iotInstanceId=iot-06z00abcdef,consumerGroupId=VWhGZ2QnP7kxWpeSSjt1234|");
    EXPECT_EQ(creds.password.reveal(), "6k/ckjbaHRoDzo6y2P1mG0hnXHFxA4dQj8O+XUCnrv8=");
}

TEST(Signer, StstokenWithoutTokenIsRefused) {
    const Secret secret("s");
    SignRequest req;
    req.auth_mode = AuthMode::ststoken;
    req.access_key_secret = &secret;
    EXPECT_THROW((void)sign(req), std::invalid_argument);
}

TEST(Signer, MethodNamesParseCaseInsensitively) {
    EXPECT_EQ(parse_sign_method("Hmacsha1"), SignMethod::hmacsha1);
    EXPECT_EQ(parse_sign_method("HMACMD5"), SignMethod::hmacmd5);
    EXPECT_FALSE(parse_sign_method("sha1").has_value());
    EXPECT_EQ(parse_auth_mode("StsToken"), AuthMode::ststoken);
    EXPECT_FALSE(parse_auth_mode("appkey").has_value());
}

TEST(Secret, MaskKeepsFourCharactersEachSide) {
    EXPECT_EQ(mask_access_key_id("LTAI5tAbCdEf1234"), "LTAI****1234");
    EXPECT_EQ(mask_access_key_id("short"), "*****");
}

TEST(Secret, ComparesByValueAndMovesOut) {
    Secret a("abc");
    EXPECT_TRUE(a.equals("abc"));
    EXPECT_FALSE(a.equals("abd"));
    Secret b(std::move(a));
    EXPECT_TRUE(b.equals("abc"));
    EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): checking the moved-from state is the point
}

}  // namespace
}  // namespace iot
