// Decides one SASL PLAIN attempt (PROTOCOL.md §9.2): user-name grammar, account,
// consumer group and its authorisation, instance id, signature, and in strict
// mode timestamp freshness. Remembers the newest timestamp per client id in every
// mode, so tests can prove each reconnect was freshly signed.
// Owned by the emulator's container thread; not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "accounts.hpp"

namespace iot::emu {

struct AuthPolicy {
    bool strict = false;                             // enforce freshness and skew
    std::chrono::milliseconds skew{15 * 60 * 1000};  // strict mode: |now - timestamp| allowed
};

struct AuthOutcome {
    bool ok = false;
    std::string reason;     // empty when ok; safe to log
    std::string client_id;  // as far as it could be parsed
    std::string group;      // consumer group named by the client (may be unknown)
    std::int64_t timestamp_ms = 0;
    bool signature_valid = false;  // true when the client really holds the secret
    bool stale = false;            // timestamp not newer than this client id's previous one
};

class Authenticator {
public:
    Authenticator(std::shared_ptr<const Accounts> accounts, AuthPolicy policy);

    // `now_ms` is the emulator's wall clock (ms since the epoch).
    [[nodiscard]] AuthOutcome check(std::string_view user_name, std::string_view password, std::int64_t now_ms);

    // Newest timestamp seen per client id (signature-valid attempts only).
    [[nodiscard]] const std::map<std::string, std::int64_t>& last_timestamps() const { return last_timestamp_; }

private:
    std::shared_ptr<const Accounts> accounts_;
    AuthPolicy policy_;
    std::map<std::string, std::int64_t> last_timestamp_;
};

}  // namespace iot::emu
