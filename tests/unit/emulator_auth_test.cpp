#include "authenticator.hpp"

#include "iot-amqpd/signer.hpp"

#include <gtest/gtest.h>

namespace iot::emu {
namespace {

// PROTOCOL.md §2.2.
constexpr std::int64_t kTs = 1573489088171;

std::shared_ptr<const Accounts> accounts(const std::string& instance = "") {
    return std::make_shared<const Accounts>(parse_accounts("instance_id: '" + instance +
                                                           "'\n"
                                                           "consumer_groups: [CG1, CG2]\n"
                                                           "accounts:\n"
                                                           "  - access_key_id: LTAI_TEST_AK\n"
                                                           "    access_key_secret: test-secret-123\n"
                                                           "    security_tokens: [STS.TOKEN.EXAMPLE]\n"
                                                           "    consumer_groups: [CG1]\n"));
}

std::string user(const char* method, std::int64_t ts = kTs, const std::string& extra = "",
                 const std::string& group = "CG1", const char* mode = "aksign") {
    return "host-a|authMode=" + std::string(mode) + ",signMethod=" + method + ",timestamp=" + std::to_string(ts) +
           ",authId=LTAI_TEST_AK,consumerGroupId=" + group + extra + "|";
}

struct Vector {
    const char* method;
    const char* password;
};

class EmulatorAuthVectors : public ::testing::TestWithParam<Vector> {};

TEST_P(EmulatorAuthVectors, AcceptsThePublishedPassword) {
    Authenticator auth(accounts(), {});
    const auto out = auth.check(user(GetParam().method), GetParam().password, kTs);
    EXPECT_TRUE(out.ok) << out.reason;
    EXPECT_TRUE(out.signature_valid);
    EXPECT_EQ(out.client_id, "host-a");
    EXPECT_EQ(out.group, "CG1");
}

TEST_P(EmulatorAuthVectors, RefusesAWrongPassword) {
    Authenticator auth(accounts(), {});
    std::string wrong = GetParam().password;
    wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
    const auto out = auth.check(user(GetParam().method), wrong, kTs);
    EXPECT_FALSE(out.ok);
    EXPECT_FALSE(out.signature_valid);
    EXPECT_EQ(out.reason, "signature mismatch");
}

INSTANTIATE_TEST_SUITE_P(AllMethods, EmulatorAuthVectors,
                         ::testing::Values(Vector{"hmacmd5", "VdzjQh6kpbnQ1Bmq7neR9w=="},
                                           Vector{"hmacsha1", "sfofchE0KRB0NZ/kojkfDKhyoPE="},
                                           Vector{"HmacSha256", "6k/ckjbaHRoDzo6y2P1mG0hnXHFxA4dQj8O+XUCnrv8="}));

TEST(EmulatorAuth, StstokenVectorAndUnknownToken) {
    Authenticator auth(accounts(), {});
    const auto good = auth.check(user("hmacsha1", kTs, ",securityToken=STS.TOKEN.EXAMPLE", "CG1", "ststoken"),
                                 "0BMPAYYApYf4HEPDNf78ZEFkfsI=", kTs);
    EXPECT_TRUE(good.ok) << good.reason;
    const auto unknown = auth.check(user("hmacsha1", kTs + 1, ",securityToken=STS.OTHER", "CG1", "ststoken"),
                                    "0BMPAYYApYf4HEPDNf78ZEFkfsI=", kTs);
    EXPECT_FALSE(unknown.ok);
    EXPECT_EQ(unknown.reason, "unknown securityToken");
}

TEST(EmulatorAuth, GroupMustExistAndBeAuthorised) {
    Authenticator auth(accounts(), {});
    // Same timestamp, so the signature stays the published vector.
    const auto missing = auth.check(user("hmacsha1", kTs, "", "NOPE"), "sfofchE0KRB0NZ/kojkfDKhyoPE=", kTs);
    EXPECT_FALSE(missing.ok);
    EXPECT_EQ(missing.group, "NOPE");
    EXPECT_NE(missing.reason.find("does not exist"), std::string::npos);
    const auto unauthorised = auth.check(user("hmacsha1", kTs, "", "CG2"), "sfofchE0KRB0NZ/kojkfDKhyoPE=", kTs);
    EXPECT_FALSE(unauthorised.ok);
    EXPECT_NE(unauthorised.reason.find("iot:sub"), std::string::npos);
}

TEST(EmulatorAuth, UnknownAccessKeyIsMaskedInTheReason) {
    Authenticator auth(accounts(), {});
    const auto out = auth.check(
        "c|authMode=aksign,signMethod=hmacsha1,timestamp=5,authId=LTAI5tUnknownKey99,consumerGroupId=CG1|", "x", kTs);
    EXPECT_FALSE(out.ok);
    EXPECT_EQ(out.reason.find("LTAI5tUnknownKey99"), std::string::npos) << out.reason;
    EXPECT_NE(out.reason.find("LTAI****ey99"), std::string::npos) << out.reason;
}

TEST(EmulatorAuth, NewInstanceNeedsItsIdLegacyNeedsNone) {
    const std::string pw = "sfofchE0KRB0NZ/kojkfDKhyoPE=";
    Authenticator modern(accounts("iot-06z00test"), {});
    EXPECT_FALSE(modern.check(user("hmacsha1"), pw, kTs).ok);
    EXPECT_FALSE(modern.check(user("hmacsha1", kTs, ",iotInstanceId="), pw, kTs).ok);
    EXPECT_FALSE(modern.check(user("hmacsha1", kTs, ",iotInstanceId=iot-other"), pw, kTs).ok);
    EXPECT_TRUE(modern.check(user("hmacsha1", kTs, ",iotInstanceId=iot-06z00test"), pw, kTs).ok);

    Authenticator legacy(accounts(""), {});
    EXPECT_TRUE(legacy.check(user("hmacsha1"), pw, kTs).ok);
    EXPECT_TRUE(legacy.check(user("hmacsha1", kTs, ",iotInstanceId="), pw, kTs).ok);
    EXPECT_FALSE(legacy.check(user("hmacsha1", kTs, ",iotInstanceId=iot-06z00test"), pw, kTs).ok);
}

// Signs with the test secret for any timestamp.
std::string password_for(std::int64_t ts) {
    const Secret secret("test-secret-123");
    return std::string(hmac_base64(SignMethod::hmacsha1, secret, string_to_sign("LTAI_TEST_AK", nullptr, ts)).reveal());
}

TEST(EmulatorAuth, StrictModeRefusesReplaysOlderTimestampsAndSkew) {
    AuthPolicy strict;
    strict.strict = true;
    strict.skew = std::chrono::minutes(15);
    Authenticator auth(accounts(), strict);
    const std::int64_t now = 1'800'000'000'000;
    EXPECT_TRUE(auth.check(user("hmacsha1", now), password_for(now), now).ok);
    const auto replay = auth.check(user("hmacsha1", now), password_for(now), now + 10);
    EXPECT_FALSE(replay.ok);
    EXPECT_TRUE(replay.stale);
    EXPECT_FALSE(auth.check(user("hmacsha1", now - 1), password_for(now - 1), now + 10).ok);
    EXPECT_TRUE(auth.check(user("hmacsha1", now + 1), password_for(now + 1), now + 10).ok);
    const std::int64_t late = now + 16 * 60 * 1000;
    EXPECT_FALSE(auth.check(user("hmacsha1", now + 2), password_for(now + 2), late).ok) << "outside the skew";
    EXPECT_TRUE(auth.check(user("hmacsha1", late), password_for(late), late).ok);
    const std::int64_t future = late + 16 * 60 * 1000;
    EXPECT_FALSE(auth.check(user("hmacsha1", future), password_for(future), late).ok) << "too far ahead";
    EXPECT_EQ(auth.last_timestamps().at("host-a"), future) << "the newest signed timestamp is remembered";
}

TEST(EmulatorAuth, LenientModeAcceptsReplaysButMarksThemStale) {
    Authenticator auth(accounts(), {});
    const std::int64_t now = 1'800'000'000'000;
    const auto first = auth.check(user("hmacsha1", now), password_for(now), now);
    EXPECT_TRUE(first.ok);
    EXPECT_FALSE(first.stale);
    const auto again = auth.check(user("hmacsha1", now), password_for(now), now + 999'999'999);
    EXPECT_TRUE(again.ok) << "no skew check either";
    EXPECT_TRUE(again.stale);
    EXPECT_FALSE(auth.check(user("hmacsha1", now + 1), password_for(now + 1), now).stale);
}

TEST(EmulatorAccounts, RejectsBrokenFiles) {
    EXPECT_THROW((void)parse_accounts("accounts: []\n"), std::runtime_error);
    EXPECT_THROW((void)parse_accounts("bogus: 1\naccounts: [{access_key_id: a, access_key_secret: b}]\n"),
                 std::runtime_error);
    EXPECT_THROW((void)parse_accounts("accounts: [{access_key_id: a}]\n"), std::runtime_error);
    EXPECT_THROW((void)parse_accounts("consumer_groups: [G1]\naccounts: [{access_key_id: a, access_key_secret: b, "
                                      "consumer_groups: [G2]}]\n"),
                 std::runtime_error);
    const auto ok = parse_accounts("accounts: [{access_key_id: a, access_key_secret: b, consumer_groups: [G2]}]\n");
    EXPECT_TRUE(ok.legacy());
    EXPECT_EQ(ok.consumer_groups.count("G2"), 1U) << "groups named by accounts exist when none are listed";
}

}  // namespace
}  // namespace iot::emu
