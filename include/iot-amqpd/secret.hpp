// A secret value (AccessKey secret, SASL password, security token).
//
// Non-copyable, wiped with OPENSSL_cleanse on destruction, and deliberately not
// streamable or formattable: the only way to read it is reveal(), which makes
// every use greppable.
//
// Thread: a Secret is owned like any value; a shared `const Secret` (the
// config's) is only read, which any thread may do.
#pragma once

#include <string>
#include <string_view>

namespace iot {

class Secret {
public:
    Secret() = default;
    // cppcheck-suppress passedByValue ; taken by value on purpose: it is moved in, never copied
    explicit Secret(std::string value) noexcept : value_(std::move(value)) {}
    ~Secret();

    Secret(const Secret&) = delete;
    Secret& operator=(const Secret&) = delete;
    Secret(Secret&& other) noexcept;
    Secret& operator=(Secret&& other) noexcept;

    [[nodiscard]] std::string_view reveal() const noexcept { return value_; }
    [[nodiscard]] bool empty() const noexcept { return value_.empty(); }

    // Constant-time comparison, so the emulator and the reload diff do not leak
    // how much of a secret matched.
    [[nodiscard]] bool equals(std::string_view other) const noexcept;
    [[nodiscard]] bool equals(const Secret& other) const noexcept { return equals(other.value_); }

private:
    void wipe() noexcept;
    std::string value_;
};

// SHA-256 of a secret's bytes (32 raw bytes). A reload compares secrets and
// STS tokens by these, never by their text; a digest is never logged either.
[[nodiscard]] std::string content_digest(std::string_view bytes);
// Constant-time equality of two digests.
[[nodiscard]] bool same_digest(std::string_view a, std::string_view b) noexcept;

// Masks an AccessKey ID for logs: "LTAI5tAbCdEf1234" -> "LTAI****1234".
[[nodiscard]] std::string mask_access_key_id(std::string_view id);

}  // namespace iot
