// What a journal entry must say about the emulator's message n of a publish
// spec: topic, product key, device name and the body, rebuilt from the
// emulator's own message factory at the entry's IOT_GENERATE_TIME (the body's
// only time-dependent input). Header-only: shared by the scenario tests.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "journal_reader.hpp"
#include "message_factory.hpp"

namespace iot::test {

// Decodes standard base64; nullopt when malformed.
inline std::optional<std::string> decode_base64(const std::string& text) {
    if (text.size() % 4 != 0) return std::nullopt;
    if (text.empty()) return std::string();
    std::vector<unsigned char> out(text.size() / 4 * 3);
    const int length =
        EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
    if (length < 0) return std::nullopt;
    std::size_t size = static_cast<std::size_t>(length);
    // EVP_DecodeBlock counts '=' padding as zero bytes.
    if (text[text.size() - 1] == '=') --size;
    if (text[text.size() - 2] == '=') --size;
    return std::string(reinterpret_cast<const char*>(out.data()), size);
}

// The message number in an id "<prefix><n>", or 0 when it is not one of this prefix.
inline std::size_t message_number(const std::string& id, const std::string& prefix) {
    if (id.size() <= prefix.size() || id.compare(0, prefix.size(), prefix) != 0) return 0;
    std::size_t n = 0;
    for (std::size_t i = prefix.size(); i < id.size(); ++i) {
        if (id[i] < '0' || id[i] > '9') return 0;
        n = n * 10 + static_cast<std::size_t>(id[i] - '0');
    }
    return n;
}

// "" when the entry says what the emulator sent, else what differs.
inline std::string compare_with_published(const JournalEntry& entry, const emu::PublishSpec& spec) {
    const auto id = field_or_empty(entry, "IOT_MESSAGE_ID");
    const auto n = message_number(id, spec.id_prefix);
    if (n == 0 || n > spec.count) return id + ": not a message of this publication";
    std::int64_t generate_time = 0;
    try {
        generate_time = std::stoll(field_or_empty(entry, "IOT_GENERATE_TIME"));
    } catch (const std::exception&) {
        return id + ": IOT_GENERATE_TIME is not a number";
    }
    const auto expected = emu::make_message(spec, n, generate_time);
    std::string problems;
    if (field_or_empty(entry, "IOT_TOPIC") != expected.topic) problems += " IOT_TOPIC differs;";
    const auto check_optional = [&](const char* field, const std::string& want) {
        const bool present = entry.count(field) != 0;
        if (want.empty() && present) problems += std::string(" unexpected ") + field + ";";
        if (!want.empty() && field_or_empty(entry, field) != want) problems += std::string(" ") + field + " differs;";
    };
    check_optional("IOT_PRODUCT_KEY", expected.product_key);
    check_optional("IOT_DEVICE_NAME", expected.device_name);
    const auto message = field_or_empty(entry, "MESSAGE");
    const auto encoding = field_or_empty(entry, "IOT_PAYLOAD_ENCODING");
    if (encoding == "utf-8") {
        if (message != expected.body) problems += " MESSAGE differs from the body;";
    } else if (encoding == "base64") {
        const auto decoded = message.rfind("base64:", 0) == 0 ? decode_base64(message.substr(7)) : std::nullopt;
        if (!decoded || *decoded != expected.body) problems += " base64 MESSAGE does not decode to the body;";
    } else {
        problems += " IOT_PAYLOAD_ENCODING=" + encoding + ";";
    }
    return problems.empty() ? std::string() : id + ":" + problems;
}

}  // namespace iot::test
