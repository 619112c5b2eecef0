// Looks for credentials in what the daemon wrote: an AccessKey secret or STS
// security token (whole, or any 16-character piece of one), a SASL password
// the daemon sent (computed for the timestamps the emulator saw it sign), or
// any base64 HMAC of the sign method's length that is the password of some
// millisecond in the scenario's time window (so a password cannot hide
// behind a timestamp the emulator never logged).
//
// Plain functions and values; no thread affinity. Findings never contain
// the secret itself, only what kind of secret and where.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "iot-amqpd/signer.hpp"

namespace iot::test {

struct SecretMaterial {
    std::string access_key_id;
    std::vector<std::string> access_key_secrets;  // every value the secret file or config ever held
    std::vector<std::string> security_tokens;     // every value the token file ever held; empty for aksign
    SignMethod sign_method = SignMethod::hmacsha256;
    std::int64_t window_from_ms = 0;  // wall clock: the scenario's start (minus a margin)
    std::int64_t window_to_ms = 0;    // and end (plus a margin)
};

// Milliseconds since the epoch, now.
[[nodiscard]] std::int64_t wall_clock_now_ms();

// Every "timestamp=<ms>" the emulator logged (one per SASL attempt it saw).
[[nodiscard]] std::set<std::int64_t> signed_timestamps(const std::string& emulator_log);

// The SASL password for each timestamp, for every secret and token combination.
[[nodiscard]] std::set<std::string> passwords_for(const SecretMaterial& material,
                                                  const std::set<std::int64_t>& timestamps);

// Searches texts for the material. Every password-shaped base64 token found
// is checked against the passwords of every millisecond of the window
// (computed once, on the first such token).
class LeakScanner {
public:
    LeakScanner(SecretMaterial material, std::set<std::string> known_passwords);

    // nullopt when `text` is clean; otherwise what leaked ("an AccessKey
    // secret", "16 characters of a security token", "the SASL password for
    // timestamp ...") and the offset, prefixed by `where`.
    [[nodiscard]] std::optional<std::string> find_leak(std::string_view where, std::string_view text);

    // find_leak over every regular file under `dir` (recursively) whose path
    // is not in `excluded`; one finding per leaking file.
    [[nodiscard]] std::vector<std::string> find_leaks_in_files(const std::filesystem::path& dir,
                                                               const std::set<std::filesystem::path>& excluded);

private:
    SecretMaterial material_;
    std::set<std::string> known_passwords_;
    std::unordered_map<std::string, std::int64_t> window_passwords_;  // password -> timestamp; built lazily
};

}  // namespace iot::test
