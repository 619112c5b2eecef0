// read_security_token (issue 15): the STS token is read with the loader's
// secret-file reader (one buffer sized once and wiped), not through a growing
// std::string, which left unwiped copies of the token on the heap. The
// loader's reader is recognisable by its bound: a "token" over 64 KiB is the
// wrong file, which the old stream reader took whole.
#include <gtest/gtest.h>

#include <string>

#include "iot-amqpd/clouds/aliyun.hpp"
#include "temp_dir.hpp"

namespace iot {
namespace {

TEST(SecurityToken, ReadTrimmedLikeEverySecretFile) {
    test::TempDir dir("iot-token");
    test::write_file(dir / "token", "STS.abc123\r\n \t\n");
    const auto token = read_security_token((dir / "token").string());
    ASSERT_TRUE(token);
    EXPECT_EQ(token->reveal(), "STS.abc123");
}

TEST(SecurityToken, ProblemsNameTheFileAndWhatItMustHold) {
    test::TempDir dir("iot-token");
    test::write_file(dir / "empty", "\n");
    try {
        (void)read_security_token((dir / "empty").string());
        FAIL() << "an empty token file must be refused";
    } catch (const CredentialError& e) {
        EXPECT_NE(std::string(e.what()).find("STS security token"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find((dir / "empty").string()), std::string::npos) << e.what();
    }
    EXPECT_THROW((void)read_security_token((dir / "missing").string()), CredentialError);
}

TEST(SecurityToken, ReadThroughTheBoundedSecretReader) {
    test::TempDir dir("iot-token");
    test::write_file(dir / "huge", std::string(std::size_t{65} * 1024, 'T'));
    try {
        (void)read_security_token((dir / "huge").string());
        FAIL() << "a 65 KiB token file must be refused by the bounded reader";
    } catch (const CredentialError& e) {
        EXPECT_NE(std::string(e.what()).find("larger than 64 KiB"), std::string::npos) << e.what();
    }
    test::write_file(dir / "big", std::string(std::size_t{48} * 1024, 'T'));
    EXPECT_EQ(read_security_token((dir / "big").string())->reveal().size(), std::size_t{48} * 1024);
}

}  // namespace
}  // namespace iot
