// The operator's documentation must keep up with the loader: every key the
// loader accepts is explained in the man page, the example config and the README.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "iot-amqpd/config.hpp"

namespace iot {
namespace {

std::string read_source_file(const std::string& relative) {
    std::ifstream in(std::string(IOT_SOURCE_DIR) + "/" + relative);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string leaf(const std::string& path) { return path.substr(path.rfind('.') + 1); }

// roff escapes '-' and may split words with font changes; the keys have
// underscores only, so a plain search after removing "\\-" and "\\f?" suffices.
std::string plain_roff(std::string text) {
    for (const std::string_view escape : {"\\fB", "\\fI", "\\fR", "\\fP", "\\&"}) {
        for (auto pos = text.find(escape); pos != std::string::npos; pos = text.find(escape))
            text.erase(pos, escape.size());
    }
    for (auto pos = text.find("\\-"); pos != std::string::npos; pos = text.find("\\-")) text.erase(pos, 1);
    return text;
}

// ARCHITECTURE.md: each class says which thread owns it ("Thread: ..." in the
// header's leading comment). Issue 15 found JournaldSink and StdoutSink
// silent, though several groups share stdout.
TEST(Documentation, EveryHeaderWithAClassStatesItsThreadOwnership) {
    const std::filesystem::path include(std::string(IOT_SOURCE_DIR) + "/include/iot-amqpd");
    std::size_t checked = 0;
    for (const auto& entry : std::filesystem::directory_iterator(include)) {
        const std::string relative = "include/iot-amqpd/" + entry.path().filename().string();
        const std::string text = read_source_file(relative);
        std::istringstream lines(text);
        bool declares_class = false;
        for (std::string line; std::getline(lines, line);)
            if (line.rfind("class ", 0) == 0 && line.find(';') == std::string::npos) declares_class = true;
        if (!declares_class) continue;
        ++checked;
        const std::string head = text.substr(0, text.find("#pragma once"));
        EXPECT_NE(head.find("Thread"), std::string::npos) << relative << " declares a class but not its thread";
    }
    EXPECT_GE(checked, 20U);
}

TEST(Documentation, LoaderAcceptsAKnownSetOfKeys) {
    const auto keys = accepted_config_keys();
    EXPECT_GE(keys.size(), 30U);
    EXPECT_NE(std::find(keys.begin(), keys.end(), "defaults.reconnect.jitter"), keys.end());
}

TEST(Documentation, ManPageExplainsEveryConfigKey) {
    const std::string man = plain_roff(read_source_file("packaging/iot-amqpd.yaml.5"));
    ASSERT_FALSE(man.empty());
    for (const auto& key : accepted_config_keys()) EXPECT_NE(man.find(leaf(key)), std::string::npos) << key;
}

TEST(Documentation, ExampleConfigShowsEveryConfigKey) {
    const std::string example = read_source_file("etc/iot-amqpd.yaml");
    ASSERT_FALSE(example.empty());
    for (const auto& key : accepted_config_keys()) EXPECT_NE(example.find(leaf(key) + ":"), std::string::npos) << key;
}

TEST(Documentation, ManPageListsEveryCommandLineOption) {
    const std::string man = plain_roff(read_source_file("packaging/iot-amqpd.8"));
    for (const char* option : {"--config", "--check-config", "--log-level", "--log-target", "--version", "--help"})
        EXPECT_NE(man.find(option), std::string::npos) << option;
    for (const char* field :
         {"IOT_CONSUMER_GROUP", "IOT_CONSUMER_GROUP_ID", "IOT_TOPIC", "IOT_MESSAGE_ID", "IOT_GENERATE_TIME",
          "IOT_PRODUCT_KEY", "IOT_DEVICE_NAME", "IOT_CLIENT_ID", "IOT_PAYLOAD_ENCODING"})
        EXPECT_NE(man.find(field), std::string::npos) << field;
}

}  // namespace
}  // namespace iot
