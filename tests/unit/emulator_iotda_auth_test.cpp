// The accounts file's iotda: section and the IoTDA SASL decision.
#include <gtest/gtest.h>

#include <fstream>

#include "iotda_authenticator.hpp"
#include "temp_dir.hpp"

namespace iot::emu {
namespace {

constexpr std::int64_t kNow = 1764930600123;  // 2025-12-05T10:30:00.123Z
constexpr const char* kCode = "s3cr3t-access-code";

std::shared_ptr<const Accounts> tenant(const std::string& instance = "") {
    return std::make_shared<const Accounts>(
        parse_accounts("iotda:\n"
                       "  instance_id: '" +
                       instance +
                       "'\n"
                       "  access_keys:\n"
                       "    - access_key: AbCdEfGh\n"
                       "      access_code: " +
                       kCode +
                       "\n"
                       "  queues: [factory-queue]\n"));
}

std::string user(std::int64_t ts = kNow, const std::string& tail = "", const std::string& key = "AbCdEfGh") {
    return "accessKey=" + key + "|timestamp=" + std::to_string(ts) + tail;
}

TEST(EmulatorIotdaAccounts, ParsesTheSectionAndAddsDefaultQueue) {
    const auto accounts = tenant();
    ASSERT_TRUE(accounts->iotda);
    EXPECT_TRUE(accounts->iotda->instance_id.empty());
    EXPECT_EQ(accounts->iotda->queues, (std::set<std::string>{"DefaultQueue", "factory-queue"}));
    ASSERT_NE(accounts->iotda->find("AbCdEfGh"), nullptr);
    EXPECT_TRUE(accounts->iotda->find("AbCdEfGh")->access_code->equals(kCode));
    EXPECT_TRUE(accounts->accounts.empty()) << "an IoTDA-only file needs no Alibaba account";
}

TEST(EmulatorIotdaAccounts, ReadsTheCodeFromAFileRelativeToTheAccountsFile) {
    test::TempDir dir;
    std::ofstream(dir / "code") << "from-a-file\n";
    std::ofstream(dir / "accounts.yaml")
        << "iotda:\n  access_keys:\n    - access_key: K1\n      access_code_file: code\n";
    const Accounts accounts = load_accounts((dir / "accounts.yaml").string());
    ASSERT_TRUE(accounts.iotda);
    EXPECT_TRUE(accounts.iotda->find("K1")->access_code->equals("from-a-file"));
}

TEST(EmulatorIotdaAccounts, RejectsBrokenSectionsWithoutShowingSecrets) {
    const char* bad[] = {
        "iotda: []\n",
        "iotda:\n  access_keys: []\n",
        "iotda:\n  bogus: 1\n  access_keys: [{access_key: K, access_code: hidden-code-1}]\n",
        "iotda:\n  access_keys: [{access_key: K}]\n",
        "iotda:\n  access_keys: [{access_key: K, access_code: hidden-code-1, access_code_file: /x}]\n",
        "iotda:\n  access_keys: [{access_key: K, access_code: hidden-code-1, extra: 1}]\n",
        "iotda:\n  access_keys: [{access_key: 'K|1', access_code: hidden-code-1}]\n",
        "iotda:\n  access_keys: [{access_key: K, access_code: hidden-code-1}, {access_key: K, access_code: x}]\n",
        "iotda:\n  access_keys: [{access_key: K, access_code: hidden-code-1}]\n  queues: [short]\n",
        "iotda:\n  access_keys: [{access_key: K, access_code: hidden-code-1}]\n  queues: ['has space q']\n",
        "iotda:\n  access_keys: [{access_key: K, access_code_file: /nonexistent/code}]\n",
    };
    for (const char* text : bad) {
        try {
            (void)parse_accounts(text);
            ADD_FAILURE() << "accepted: " << text;
        } catch (const std::runtime_error& e) {
            EXPECT_EQ(std::string(e.what()).find("hidden-code-1"), std::string::npos) << e.what();
        }
    }
    EXPECT_THROW((void)parse_accounts("consumer_groups: [G]\n"), std::runtime_error) << "Alibaba still needs accounts";
}

TEST(EmulatorIotdaAccounts, QueueNamesFollowTheCloudsRule) {
    EXPECT_TRUE(valid_iotda_queue_name("DefaultQueue"));
    EXPECT_TRUE(valid_iotda_queue_name("a.b-c_d:e"));
    EXPECT_FALSE(valid_iotda_queue_name("1234567"));
    EXPECT_TRUE(valid_iotda_queue_name(std::string(128, 'q')));
    EXPECT_FALSE(valid_iotda_queue_name(std::string(129, 'q')));
    EXPECT_FALSE(valid_iotda_queue_name("queue/name"));
}

TEST(EmulatorIotdaAuth, AcceptsTheCodeAndRefusesEverythingElse) {
    const IotdaAuthenticator auth(tenant(), std::chrono::minutes(5));
    EXPECT_TRUE(auth.check(user(), kCode, kNow).ok);
    EXPECT_TRUE(auth.check(user(kNow - 299'000), kCode, kNow).ok);
    EXPECT_TRUE(auth.check(user(kNow + 299'000), kCode, kNow).ok);

    const auto wrong = auth.check(user(), "not-the-code", kNow);
    EXPECT_FALSE(wrong.ok);
    EXPECT_EQ(wrong.access_key, "AbCdEfGh");
    EXPECT_EQ(wrong.reason.find("not-the-code"), std::string::npos);
    EXPECT_FALSE(auth.check(user(), "", kNow).ok);
    EXPECT_FALSE(auth.check(user(kNow, "", "Unknown1"), kCode, kNow).ok);
    EXPECT_FALSE(auth.check(user(kNow - 301'000), kCode, kNow).ok) << "stale";
    EXPECT_FALSE(auth.check(user(kNow + 301'000), kCode, kNow).ok) << "from the future";
    EXPECT_FALSE(auth.check(user(kNow, "|instanceId=i-1"), kCode, kNow).ok) << "no instance configured";
    EXPECT_FALSE(auth.check("accessKey=AbCdEfGh|timestamp=1764930600", kCode, kNow).ok) << "seconds";
}

TEST(EmulatorIotdaAuth, AConfiguredInstanceIdIsRequired) {
    const IotdaAuthenticator auth(tenant("inst-7"), std::chrono::minutes(5));
    EXPECT_TRUE(auth.check(user(kNow, "|instanceId=inst-7"), kCode, kNow).ok);
    const auto missing = auth.check(user(), kCode, kNow);
    EXPECT_FALSE(missing.ok);
    EXPECT_NE(missing.reason.find("missing instanceId"), std::string::npos) << missing.reason;
    EXPECT_FALSE(auth.check(user(kNow, "|instanceId=inst-8"), kCode, kNow).ok);
}

TEST(EmulatorIotdaAuth, TheWindowIsConfigurable) {
    const IotdaAuthenticator auth(tenant(), std::chrono::seconds(10));
    EXPECT_TRUE(auth.check(user(kNow - 9'000), kCode, kNow).ok);
    EXPECT_FALSE(auth.check(user(kNow - 11'000), kCode, kNow).ok);
}

TEST(EmulatorIotdaAuth, AnAlibabaOnlyFileRefusesIotdaLogins) {
    const auto alibaba = std::make_shared<const Accounts>(
        parse_accounts("accounts: [{access_key_id: a, access_key_secret: b, consumer_groups: [G]}]\n"));
    const IotdaAuthenticator auth(alibaba, std::chrono::minutes(5));
    EXPECT_FALSE(auth.check(user(), kCode, kNow).ok);
}

}  // namespace
}  // namespace iot::emu
