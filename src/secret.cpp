#include "iot-amqpd/secret.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>

namespace iot {

Secret::~Secret() { wipe(); }

Secret::Secret(Secret&& other) noexcept : value_(std::move(other.value_)) { other.wipe(); }

Secret& Secret::operator=(Secret&& other) noexcept {
    if (this != &other) {
        wipe();
        value_ = std::move(other.value_);
        other.wipe();
    }
    return *this;
}

void Secret::wipe() noexcept {
    // Cleanse the whole capacity: a shrunk string may keep old bytes past size().
    if (value_.capacity() > 0) OPENSSL_cleanse(value_.data(), value_.capacity());
    value_.clear();
}

bool Secret::equals(std::string_view other) const noexcept {
    if (other.size() != value_.size()) return false;
    return CRYPTO_memcmp(other.data(), value_.data(), value_.size()) == 0;
}

std::string mask_access_key_id(std::string_view id) {
    if (id.size() <= 8) return std::string(id.size(), '*');
    std::string masked(id.substr(0, 4));
    masked += "****";
    masked += id.substr(id.size() - 4);
    return masked;
}

std::string content_digest(std::string_view bytes) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int size = 0;
    if (EVP_Digest(bytes.data(), bytes.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1) return {};
    return {reinterpret_cast<const char*>(digest.data()), size};
}

bool same_digest(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace iot
