#include "iot-amqpd/signer.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <stdexcept>

namespace iot {
namespace {

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

const EVP_MD* digest_of(SignMethod method) {
    switch (method) {
        case SignMethod::hmacmd5: return EVP_md5();
        case SignMethod::hmacsha1: return EVP_sha1();
        case SignMethod::hmacsha256: return EVP_sha256();
    }
    throw std::invalid_argument("unknown sign method");
}

}  // namespace

std::string_view to_string(AuthMode mode) { return mode == AuthMode::aksign ? "aksign" : "ststoken"; }

std::string_view to_string(SignMethod method) {
    switch (method) {
        case SignMethod::hmacmd5: return "hmacmd5";
        case SignMethod::hmacsha1: return "hmacsha1";
        case SignMethod::hmacsha256: return "hmacsha256";
    }
    return "unknown";
}

std::optional<AuthMode> parse_auth_mode(std::string_view text) {
    if (iequals(text, "aksign")) return AuthMode::aksign;
    if (iequals(text, "ststoken")) return AuthMode::ststoken;
    return std::nullopt;
}

std::optional<SignMethod> parse_sign_method(std::string_view text) {
    for (SignMethod m : {SignMethod::hmacmd5, SignMethod::hmacsha1, SignMethod::hmacsha256})
        if (iequals(text, to_string(m))) return m;
    return std::nullopt;
}

std::string string_to_sign(std::string_view access_key_id, const Secret* security_token, std::int64_t timestamp_ms) {
    std::string text = "authId=";
    text += access_key_id;
    if (security_token != nullptr) {
        text += "&securityToken=";
        text += security_token->reveal();
    }
    text += "&timestamp=";
    text += std::to_string(timestamp_ms);
    return text;
}

Secret hmac_base64(SignMethod method, const Secret& key, std::string_view data) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
    unsigned int mac_len = 0;
    const auto key_bytes = key.reveal();
    if (HMAC(digest_of(method), key_bytes.data(), static_cast<int>(key_bytes.size()),
             reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac.data(), &mac_len) == nullptr)
        throw std::runtime_error("HMAC computation failed");
    std::string encoded(std::size_t{4} * ((mac_len + 2) / 3), '\0');
    const int written =
        EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()), mac.data(), static_cast<int>(mac_len));
    encoded.resize(static_cast<std::size_t>(written));
    OPENSSL_cleanse(mac.data(), mac.size());
    return Secret(std::move(encoded));
}

Credentials sign(const SignRequest& request) {
    if (request.access_key_secret == nullptr) throw std::invalid_argument("sign: no AccessKey secret");
    const Secret* token = nullptr;
    if (request.auth_mode == AuthMode::ststoken) {
        if (request.security_token == nullptr) throw std::invalid_argument("sign: ststoken needs a security token");
        token = request.security_token;
    }
    const std::string timestamp = std::to_string(request.timestamp_ms);
    Credentials out;
    std::string& u = out.user_name;
    u.reserve(256);
    u += request.client_id;
    u += "|authMode=";
    u += to_string(request.auth_mode);
    u += ",signMethod=";
    u += to_string(request.sign_method);
    u += ",timestamp=";
    u += timestamp;
    u += ",authId=";
    u += request.access_key_id;
    u += ",iotInstanceId=";
    u += request.iot_instance_id;
    u += ",consumerGroupId=";
    u += request.consumer_group_id;
    if (token != nullptr) {
        u += ",securityToken=";
        u += token->reveal();
    }
    u += '|';
    // The signed string is wiped too: for ststoken it holds the token.
    Secret to_sign(string_to_sign(request.access_key_id, token, request.timestamp_ms));
    out.password = hmac_base64(request.sign_method, *request.access_key_secret, to_sign.reveal());
    return out;
}

}  // namespace iot
