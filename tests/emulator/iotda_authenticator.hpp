// Decides one IoTDA SASL PLAIN attempt (/work/shared/clouds/huawei-iotda.md §2):
// user-name grammar, access key, access code (the password is the code itself,
// compared in constant time), instance id, and the clock window the cloud
// always enforces (±5 min). No signature: the timestamp is only a freshness check.
// Owned by the emulator's container thread; not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "accounts.hpp"

namespace iot::emu {

struct IotdaAuthOutcome {
    bool ok = false;
    std::string reason;      // empty when ok; safe to log
    std::string access_key;  // as far as it could be parsed
    std::int64_t timestamp_ms = 0;
};

class IotdaAuthenticator {
public:
    // `skew`: |now - timestamp| allowed.
    IotdaAuthenticator(std::shared_ptr<const Accounts> accounts, std::chrono::milliseconds skew);

    // `now_ms` is the emulator's wall clock (ms since the epoch).
    [[nodiscard]] IotdaAuthOutcome check(std::string_view user_name, std::string_view password,
                                         std::int64_t now_ms) const;

private:
    std::shared_ptr<const Accounts> accounts_;
    std::chrono::milliseconds skew_;
};

}  // namespace iot::emu
