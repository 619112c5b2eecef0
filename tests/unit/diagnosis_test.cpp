#include "iot-amqpd/diagnosis.hpp"

#include "iot-amqpd/clouds/aliyun.hpp"

#include <gtest/gtest.h>

namespace iot {
namespace {

TEST(Diagnosis, NamesTheLikelyCauseOfEachFailure) {
    EXPECT_EQ(diagnose("amqp:unauthorized-access", "Authentication failed [mech=PLAIN]", &aliyun_profile()).kind,
              FailureKind::authentication);
    EXPECT_NE(diagnose("amqp:unauthorized-access", "", &aliyun_profile()).hint.find("iot:sub"), std::string_view::npos);
    EXPECT_EQ(
        diagnose("amqp:connection:framing-error", "SSL Failure: certificate verify failed", &aliyun_profile()).kind,
        FailureKind::tls);
    EXPECT_EQ(diagnose("proton:io", "connection refused - 127.0.0.1:5671", &aliyun_profile()).kind,
              FailureKind::unreachable);
    EXPECT_EQ(diagnose("amqp:resource-limit-exceeded", "local-idle-timeout expired", &aliyun_profile()).kind,
              FailureKind::heartbeat);
    EXPECT_EQ(diagnose("amqp:connection:forced", "", &aliyun_profile()).kind, FailureKind::server_closed);
    EXPECT_EQ(diagnose("amqp:invalid-field", "idle time-out out of range", &aliyun_profile()).kind,
              FailureKind::refused);
    EXPECT_EQ(diagnose("amqp:connection:lost", "", &aliyun_profile()).kind, FailureKind::other);
    EXPECT_EQ(diagnose("amqp:connection:framing-error",
                       "SSL Failure: error:0A000126:SSL routines::unexpected eof while reading")
                  .kind,
              FailureKind::other);
}

// Issue 15: a login refused for its timestamp is a clock problem first.
TEST(Diagnosis, ARefusedTimestampPointsAtTheClock) {
    for (const char* reason : {"Authentication failed: timestamp outside the allowed skew",
                               "timestamp not newer than this client's previous one (replay)"}) {
        const Diagnosis d = diagnose("amqp:unauthorized-access", reason, &aliyun_profile());
        EXPECT_EQ(d.kind, FailureKind::authentication) << reason;
        EXPECT_NE(d.hint.find("clock"), std::string_view::npos) << reason;
        EXPECT_NE(d.hint.find("timedatectl"), std::string_view::npos) << reason;
        EXPECT_LT(d.hint.find("clock"), d.hint.find("credentials")) << reason;
    }
    // Without a reason the clock is still among the causes, after the credentials.
    const Diagnosis plain =
        diagnose("amqp:unauthorized-access", "Authentication failed [mech=PLAIN]", &aliyun_profile());
    EXPECT_NE(plain.hint.find("timedatectl"), std::string_view::npos);
    EXPECT_LT(plain.hint.find("access_key_id"), plain.hint.find("clock"));
}

// Without a profile's own hint, the generic one names no cloud's keys.
TEST(Diagnosis, GenericHintsNameNoCloudsKeys) {
    const Diagnosis d = diagnose("amqp:unauthorized-access", "Authentication failed [mech=PLAIN]");
    EXPECT_EQ(d.kind, FailureKind::authentication);
    EXPECT_EQ(d.hint.find("access_key_id"), std::string_view::npos);
    EXPECT_NE(d.hint.find("password"), std::string_view::npos);
    EXPECT_EQ(diagnose("amqp:not-found", "no such queue").kind, FailureKind::refused);
}

}  // namespace
}  // namespace iot
