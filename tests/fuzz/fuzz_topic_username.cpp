// Fuzz target: the two parsers of cloud-supplied or client-supplied text.
//  - device_from_topic (PROTOCOL.md §5) on the raw input: the views it returns
//    must be whole '/'-separated segments lying inside the input.
//  - the emulator's parse_user_name (PROTOCOL.md §2.1) on the raw input, with
//    consistency checks on what it accepts; and a round trip: a user name the
//    daemon's sign() builds from config-valid values must parse back to the
//    same values (the two sides must agree on the format).
//  - the emulator's parse_iotda_user_name (Huawei IoTDA) on the raw input: what
//    it accepts is exactly the documented form, rebuilt byte for byte.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "iot-amqpd/topic.hpp"
#include "text_oracles.hpp"

#ifdef IOT_FUZZ_HAVE_USER_NAME
#include "iot-amqpd/secret.hpp"
#include "iot-amqpd/signer.hpp"
#include "iotda_user_name.hpp"
#include "user_name.hpp"
#endif

namespace {

bool inside(std::string_view view, std::string_view whole) {
    const auto begin = reinterpret_cast<std::uintptr_t>(whole.data());
    const auto end = begin + whole.size();
    const auto first = reinterpret_cast<std::uintptr_t>(view.data());
    return first >= begin && first + view.size() <= end;
}

// A non-empty view that is exactly one segment: after a '/' and before a '/' or the end.
bool whole_segment(std::string_view view, std::string_view topic) {
    if (!inside(view, topic) || view.empty()) return false;
    const std::size_t at = static_cast<std::size_t>(view.data() - topic.data());
    const std::size_t end = at + view.size();
    return at > 0 && topic[at - 1] == '/' && view.find('/') == std::string_view::npos &&
           (end == topic.size() || topic[end] == '/');
}

void check_topic(std::string_view topic) {
    const iot::DeviceRef ref = iot::device_from_topic(topic);
    if (!ref.product_key.empty()) FUZZ_CHECK(whole_segment(ref.product_key, topic), "product key is a topic segment");
    if (!ref.device_name.empty()) {
        FUZZ_CHECK(whole_segment(ref.device_name, topic), "device name is a topic segment");
        FUZZ_CHECK(!ref.product_key.empty(), "a device name never comes without a product key");
        FUZZ_CHECK(ref.device_name.data() > ref.product_key.data(), "the device name follows the product key");
    }
    if (topic.empty() || topic.front() != '/') {
        FUZZ_CHECK(ref.product_key.empty() && ref.device_name.empty(), "a topic not starting with '/' names no device");
    }
}

#ifdef IOT_FUZZ_HAVE_USER_NAME

bool all_digits(std::string_view text) { return text.find_first_not_of("0123456789") == std::string_view::npos; }

std::size_t code_points(std::string_view text) {
    std::size_t n = 0;
    for (const char c : text)
        if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
    return n;
}

void check_user_name(std::string_view text) {
    const iot::emu::UserNameResult result = iot::emu::parse_user_name(text);
    FUZZ_CHECK(result.user.has_value() == result.error.empty(), "exactly one of user and error");
    if (!result.user) return;
    const iot::emu::UserName& user = *result.user;
    FUZZ_CHECK(text.size() >= 2 && text.back() == '|', "an accepted user name ends with '|'");
    FUZZ_CHECK(text.substr(0, text.find('|')) == user.client_id, "clientId is the text before the first '|'");
    FUZZ_CHECK(code_points(user.client_id) >= 1 && code_points(user.client_id) <= iot::emu::kMaxClientIdChars,
               "clientId is 1..64 characters");
    FUZZ_CHECK(!user.timestamp_text.empty() && all_digits(user.timestamp_text), "timestamp is digits");
    FUZZ_CHECK(std::to_string(user.timestamp_ms) == user.timestamp_text, "timestamp text is canonical");
    FUZZ_CHECK(!user.auth_id.empty() && !user.consumer_group_id.empty(), "authId and consumerGroupId are required");
    FUZZ_CHECK(result.consumer_group_hint == user.consumer_group_id, "the hint names the same group");
    FUZZ_CHECK(user.security_token.has_value() == (user.auth_mode == iot::AuthMode::ststoken),
               "a security token exactly for ststoken");
    if (user.security_token) FUZZ_CHECK(!user.security_token->empty(), "ststoken needs a non-empty token");
}

void check_iotda_user_name(std::string_view text) {
    const iot::emu::IotdaUserNameResult result = iot::emu::parse_iotda_user_name(text);
    FUZZ_CHECK(result.user.has_value() == result.error.empty(), "IoTDA: exactly one of user and error");
    if (!result.user) return;
    const iot::emu::IotdaUserName& user = *result.user;
    FUZZ_CHECK(iot::emu::is_iotda_user_name(text), "IoTDA: an accepted user name starts with accessKey=");
    FUZZ_CHECK(!user.access_key.empty() && user.access_key.find('|') == std::string::npos, "IoTDA: access key");
    FUZZ_CHECK(user.access_key == result.access_key_hint, "IoTDA: the hint is the access key");
    FUZZ_CHECK(user.timestamp_ms >= 0 && user.timestamp_ms <= 9'999'999'999'999, "IoTDA: 13 digits of ms");
    std::string digits = std::to_string(user.timestamp_ms);
    digits.insert(0, 13 - digits.size(), '0');
    std::string rebuilt = "accessKey=" + user.access_key + "|timestamp=" + digits;
    if (user.instance_id) {
        FUZZ_CHECK(!user.instance_id->empty(), "IoTDA: a present instanceId is not empty");
        rebuilt += "|instanceId=" + *user.instance_id;
    }
    FUZZ_CHECK(rebuilt == text, "IoTDA: an accepted user name is exactly the documented form");
}

// Text the config loader would accept for an ID: non-empty, none of the
// user name's separators (config.cpp: forbidden_separator / cloud_id_problem).
std::string config_valid_text(FuzzedDataProvider& input, std::size_t max_length, const char* fallback) {
    std::string text = input.ConsumeRandomLengthString(max_length);
    std::string out;
    for (const char c : text)
        if (c != '|' && c != ',' && c != '=') out += c;
    return out.empty() ? std::string(fallback) : out;
}

void check_sign_then_parse(FuzzedDataProvider& input) {
    iot::SignRequest request;
    request.auth_mode = input.ConsumeBool() ? iot::AuthMode::ststoken : iot::AuthMode::aksign;
    request.sign_method =
        input.PickValueInArray({iot::SignMethod::hmacmd5, iot::SignMethod::hmacsha1, iot::SignMethod::hmacsha256});
    request.timestamp_ms = input.ConsumeIntegralInRange<std::int64_t>(0, INT64_MAX);
    // The expanded client id: 1..64 characters (at most 64 bytes of UTF-8 here).
    std::string client_id = config_valid_text(input, 64, "c");
    if (!iot::fuzz::reference_utf8(client_id)) client_id = "c";
    request.client_id = client_id;
    request.access_key_id = config_valid_text(input, 40, "LTAI5t");
    request.consumer_group_id = config_valid_text(input, 40, "group");
    request.iot_instance_id = input.ConsumeBool() ? std::string() : config_valid_text(input, 40, "iot-06z00x");
    // STS tokens are base64-like ('=' allowed, the user name splits each item at its first '=').
    std::string token_text = config_valid_text(input, 200, "CAIS");
    token_text += "==";
    const iot::Secret token(token_text);
    const iot::Secret key(std::string("fixture-access-key-secret"));
    request.access_key_secret = &key;
    request.security_token = &token;

    const iot::Credentials credentials = iot::sign(request);
    const iot::emu::UserNameResult parsed = iot::emu::parse_user_name(credentials.user_name);
    FUZZ_CHECK(parsed.user.has_value(), "the emulator accepts what the daemon signs");
    const iot::emu::UserName& user = *parsed.user;
    FUZZ_CHECK(user.client_id == request.client_id, "round trip: clientId");
    FUZZ_CHECK(user.auth_mode == request.auth_mode, "round trip: authMode");
    FUZZ_CHECK(user.sign_method == request.sign_method, "round trip: signMethod");
    FUZZ_CHECK(user.timestamp_ms == request.timestamp_ms, "round trip: timestamp");
    FUZZ_CHECK(user.auth_id == request.access_key_id, "round trip: authId");
    FUZZ_CHECK(user.consumer_group_id == request.consumer_group_id, "round trip: consumerGroupId");
    FUZZ_CHECK(user.iot_instance_id.value_or("(absent)") == request.iot_instance_id, "round trip: iotInstanceId");
    if (request.auth_mode == iot::AuthMode::ststoken)
        FUZZ_CHECK(user.security_token && user.security_token->equals(token), "round trip: securityToken");
}

#endif  // IOT_FUZZ_HAVE_USER_NAME

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    check_topic(text);
#ifdef IOT_FUZZ_HAVE_USER_NAME
    check_user_name(text);
    check_iotda_user_name(text);
    FuzzedDataProvider input(data, size);
    check_sign_then_parse(input);
#endif
    return 0;
}
