#include "iot-amqpd/secret.hpp"

#include <openssl/crypto.h>

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

}  // namespace iot
