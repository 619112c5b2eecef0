#include "iot-amqpd/encoding.hpp"

#include <gtest/gtest.h>

namespace iot {
namespace {

TEST(Utf8, AcceptsTextAndRejectsInvalidSequences) {
    EXPECT_TRUE(is_valid_utf8(""));
    EXPECT_TRUE(is_valid_utf8("{\"t\":24}"));
    EXPECT_TRUE(is_valid_utf8("温度 24℃ \xF0\x9F\x8C\xA1"));
    EXPECT_FALSE(is_valid_utf8("\xFF\xFE"));
    EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong '/'
    EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));      // surrogate
    EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
    EXPECT_FALSE(is_valid_utf8("abc\xE2\x82"));       // truncated
    EXPECT_TRUE(is_valid_utf8(std::string_view("a\0b", 3)));
}

TEST(Base64, MatchesRfc4648Vectors) {
    const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                           {"f", "Zg=="},
                                                           {"fo", "Zm8="},
                                                           {"foo", "Zm9v"},
                                                           {"foob", "Zm9vYg=="},
                                                           {"fooba", "Zm9vYmE="},
                                                           {"foobar", "Zm9vYmFy"}};
    for (const auto& [in, expected] : vectors) {
        std::string out;
        append_base64(out, in);
        EXPECT_EQ(out, expected) << in;
    }
    std::string binary;
    append_base64(binary, std::string_view("\x00\xFF\x10", 3));
    EXPECT_EQ(binary, "AP8Q");
}

TEST(JsonEscape, EscapesQuotesBackslashesAndControlCharacters) {
    std::string out;
    append_json_escaped(out, std::string_view("a\"b\\c\nd\x01\te", 10));
    EXPECT_EQ(out, "a\\\"b\\\\c\\nd\\u0001\\te");
}

}  // namespace
}  // namespace iot
