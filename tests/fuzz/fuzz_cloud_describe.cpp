// Fuzz target: what a cloud's message turns into (cloud_profile.hpp's
// describe()), for bytes no cloud promised to send well-formed.
//
// Input layout: byte 0 picks the use, the rest is
//   0: an IoTDA body (the JSON envelope, or anything)      -> cloud: huawei-iotda
//   1: an encoded AMQP message (proton's decode())          -> cloud: amqp and cloud: aliyun
// Invariants: no crash or sanitizer report; every profile field has a journal
// field name ([A-Z0-9_], starting IOT_, at most 64 characters); an IoTDA
// message always has an id; a generate time is decimal digits; the body is
// the data section's bytes.
#include <proton/error.hpp>
#include <proton/message.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "iot-amqpd/cloud_profile.hpp"
#include "iot-amqpd/config.hpp"

namespace {

struct Clouds {
    std::shared_ptr<const iot::Config> config;
    const iot::CloudSettings* huawei = nullptr;
    const iot::CloudSettings* amqp = nullptr;
    const iot::CloudSettings* aliyun = nullptr;
};

// The three profiles' settings, built by the real loader from a config in a temporary directory.
Clouds load_clouds() {
    const std::filesystem::path dir = std::filesystem::temp_directory_path() / "iot-fuzz-clouds";
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "secret") << "fuzz-secret-value\n";
    std::ofstream(dir / "config.yaml") << "consumer_groups:\n"
                                          "  - name: hw\n    cloud: huawei-iotda\n    endpoint: amqps://h\n"
                                          "    access_key: AbCdEfGh\n    access_code_file: "
                                       << (dir / "secret").string()
                                       << "\n"
                                          "  - name: broker\n    cloud: amqp\n    endpoint: amqps://b\n    user: u\n"
                                          "    password_file: "
                                       << (dir / "secret").string()
                                       << "\n    source_address: q\n"
                                          "  - name: ali\n    endpoint: amqps://a\n    consumer_group_id: CG\n"
                                          "    access_key_id: LTAI5tFuzz\n    access_key_secret_file: "
                                       << (dir / "secret").string() << "\n";
    const iot::LoadResult loaded = iot::load_config((dir / "config.yaml").string(), iot::LoadEnvironment{"fuzz", ""});
    FUZZ_CHECK(loaded.ok(), "the fixture config loads");
    Clouds clouds;
    clouds.config = loaded.config;
    clouds.huawei = loaded.config->groups[0].settings.get();
    clouds.amqp = loaded.config->groups[1].settings.get();
    clouds.aliyun = loaded.config->groups[2].settings.get();
    return clouds;
}

bool journal_name(std::string_view name) {
    if (name.size() > 64 || name.substr(0, 4) != "IOT_") return false;
    for (const char c : name)
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
    return true;
}

bool all_digits(std::string_view text) {
    if (text.empty()) return false;
    for (const char c : text)
        if (c < '0' || c > '9') return false;
    return true;
}

void check(const iot::MessageRecord& record) {
    FUZZ_CHECK(record.fields != nullptr, "a profile always points the record at its fields");
    for (const iot::RecordField& field : *record.fields) {
        FUZZ_CHECK(journal_name(field.name), "a profile field has a journal field name");
        FUZZ_CHECK(!field.value.empty(), "an empty profile field is left out");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const Clouds clouds = load_clouds();
    if (size == 0) return 0;
    const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    iot::MessageScratch scratch;
    iot::MessageRecord record;
    if (data[0] % 2 == 0) {
        proton::message message;
        message.body(proton::binary(rest.begin(), rest.end()));
        clouds.huawei->describe(message, scratch, record);
        check(record);
        FUZZ_CHECK(record.message_id.has_value() && !record.message_id->empty(), "an IoTDA message always has an id");
        FUZZ_CHECK(!record.generate_time || all_digits(*record.generate_time), "a generate time is digits");
        FUZZ_CHECK(record.body == rest, "the body is the data section's bytes");
        return 0;
    }
    proton::message message;
    try {
        message.decode(std::vector<char>(rest.begin(), rest.end()));
    } catch (const proton::error&) {
        return 0;  // not an AMQP message: proton refuses it before any profile sees it
    }
    for (const iot::CloudSettings* cloud : {clouds.amqp, clouds.aliyun}) {
        cloud->describe(message, scratch, record);
        check(record);
        FUZZ_CHECK(!record.generate_time || !record.generate_time->empty() || cloud == clouds.aliyun,
                   "an amqp creation time is never empty");
    }
    return 0;
}
