#include "control_protocol.hpp"
#include "json.hpp"

#include <gtest/gtest.h>

namespace iot::emu {
namespace {

TEST(EmulatorControl, ParsesKeyValueWordsAndQuotedValues) {
    std::string error;
    const auto cmd =
        parse_command(R"(  close group=CG1 condition=amqp:connection:forced description="going \"down\" now" )", error);
    ASSERT_TRUE(cmd) << error;
    EXPECT_EQ(cmd->name, "close");
    EXPECT_EQ(cmd->args.at("group"), "CG1");
    EXPECT_EQ(cmd->args.at("description"), "going \"down\" now");
}

TEST(EmulatorControl, RejectsMalformedLines) {
    std::string error;
    EXPECT_FALSE(parse_command("", error));
    EXPECT_FALSE(parse_command("publish count", error));
    EXPECT_FALSE(parse_command("publish count=1 count=2", error));
    EXPECT_NE(error.find("twice"), std::string::npos);
    EXPECT_FALSE(parse_command("close description=\"open", error));
}

TEST(EmulatorJson, RoundTripsAndReadsPaths) {
    const auto v =
        Json::parse(R"({"ok":true,"groups":{"CG1":{"accepted":12,"ratio":0.5}},"list":[1,"a\u00e9\n",null]})");
    EXPECT_TRUE(v["ok"].as_bool());
    EXPECT_EQ(v.at_path("groups.CG1.accepted")->as_int(), 12);
    EXPECT_DOUBLE_EQ(v.at_path("groups.CG1.ratio")->as_double(), 0.5);
    EXPECT_FALSE(v.at_path("groups.CG2.accepted"));
    EXPECT_EQ(v["list"].as_array()[1].as_string(), "a\xc3\xa9\n");
    EXPECT_EQ(Json::parse(v.dump()).dump(), v.dump());
    EXPECT_THROW((void)Json::parse("{\"a\":}"), std::runtime_error);
    EXPECT_THROW((void)Json::parse("[1,2"), std::runtime_error);
    EXPECT_THROW((void)v["ok"].as_string(), std::runtime_error);
}

}  // namespace
}  // namespace iot::emu
