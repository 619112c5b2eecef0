#include "secret_scan.hpp"

#include <chrono>
#include <regex>
#include <system_error>

#include "iot-amqpd/secret.hpp"
#include "temp_dir.hpp"

namespace iot::test {

namespace {

constexpr std::size_t kPieceLength = 16;

// Length of base64(HMAC) for the method: 16, 20 or 32 bytes.
std::size_t password_length(SignMethod method) {
    switch (method) {
        case SignMethod::hmacmd5: return 24;
        case SignMethod::hmacsha1: return 28;
        case SignMethod::hmacsha256: return 44;
    }
    return 44;
}

bool is_base64_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' ||
           c == '=';
}

// Maximal runs of base64 characters whose length is the password's.
std::set<std::string> base64_runs(std::string_view text, std::size_t length) {
    std::set<std::string> runs;
    std::size_t i = 0;
    while (i < text.size()) {
        if (!is_base64_char(text[i])) {
            ++i;
            continue;
        }
        std::size_t end = i;
        while (end < text.size() && is_base64_char(text[end])) ++end;
        if (end - i == length) runs.emplace(text.substr(i, length));
        i = end;
    }
    return runs;
}

std::optional<std::string> find_value(std::string_view where, std::string_view text, const std::string& value,
                                      const char* what) {
    if (value.empty()) return std::nullopt;
    if (const auto at = text.find(value); at != std::string_view::npos) {
        return std::string(where) + ": " + what + " at offset " + std::to_string(at);
    }
    for (std::size_t start = 0; value.size() > kPieceLength && start + kPieceLength <= value.size(); ++start) {
        if (const auto at = text.find(value.substr(start, kPieceLength)); at != std::string_view::npos) {
            return std::string(where) + ": " + std::to_string(kPieceLength) + " characters of " + what + " at offset " +
                   std::to_string(at);
        }
    }
    return std::nullopt;
}

std::string password(SignMethod method, const std::string& secret, const std::string& access_key_id,
                     const std::string* token, std::int64_t timestamp) {
    const Secret key(secret);
    const Secret token_secret(token != nullptr ? *token : std::string());
    const auto value =
        hmac_base64(method, key, string_to_sign(access_key_id, token != nullptr ? &token_secret : nullptr, timestamp));
    return std::string(value.reveal());
}

}  // namespace

std::int64_t wall_clock_now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::set<std::int64_t> signed_timestamps(const std::string& emulator_log) {
    std::set<std::int64_t> timestamps;
    static const std::regex pattern("timestamp=\"?([0-9]{10,16})");
    for (auto it = std::sregex_iterator(emulator_log.begin(), emulator_log.end(), pattern);
         it != std::sregex_iterator(); ++it) {
        timestamps.insert(std::stoll((*it)[1].str()));
    }
    return timestamps;
}

std::set<std::string> passwords_for(const SecretMaterial& material, const std::set<std::int64_t>& timestamps) {
    std::set<std::string> passwords;
    for (const auto& secret : material.access_key_secrets) {
        for (const auto timestamp : timestamps) {
            if (material.security_tokens.empty()) {
                passwords.insert(password(material.sign_method, secret, material.access_key_id, nullptr, timestamp));
            }
            for (const auto& token : material.security_tokens) {
                passwords.insert(password(material.sign_method, secret, material.access_key_id, &token, timestamp));
            }
        }
    }
    return passwords;
}

LeakScanner::LeakScanner(SecretMaterial material, std::set<std::string> known_passwords)
    : material_(std::move(material)), known_passwords_(std::move(known_passwords)) {}

std::optional<std::string> LeakScanner::find_leak(std::string_view where, std::string_view text) {
    for (const auto& secret : material_.access_key_secrets) {
        if (auto found = find_value(where, text, secret, "an AccessKey secret")) return found;
    }
    for (const auto& token : material_.security_tokens) {
        if (auto found = find_value(where, text, token, "a security token")) return found;
    }
    for (const auto& known : known_passwords_) {
        if (const auto at = text.find(known); at != std::string_view::npos) {
            return std::string(where) + ": a SASL password the daemon sent, at offset " + std::to_string(at);
        }
    }
    // Any password-shaped token: is it the password of some millisecond?
    const auto candidates = base64_runs(text, password_length(material_.sign_method));
    if (candidates.empty()) return std::nullopt;
    if (window_passwords_.empty()) {
        const std::vector<const std::string*> tokens = [&] {
            std::vector<const std::string*> all;
            if (material_.security_tokens.empty()) all.push_back(nullptr);
            for (const auto& token : material_.security_tokens) all.push_back(&token);
            return all;
        }();
        for (auto ms = material_.window_from_ms; ms <= material_.window_to_ms; ++ms) {
            for (const auto& secret : material_.access_key_secrets) {
                for (const auto* token : tokens) {
                    window_passwords_.emplace(
                        password(material_.sign_method, secret, material_.access_key_id, token, ms), ms);
                }
            }
        }
    }
    for (const auto& candidate : candidates) {
        if (const auto found = window_passwords_.find(candidate); found != window_passwords_.end()) {
            return std::string(where) + ": the SASL password for timestamp " + std::to_string(found->second);
        }
    }
    return std::nullopt;
}

std::vector<std::string> LeakScanner::find_leaks_in_files(const std::filesystem::path& dir,
                                                          const std::set<std::filesystem::path>& excluded) {
    std::vector<std::string> findings;
    std::error_code error;
    for (std::filesystem::recursive_directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
        if (!it->is_regular_file() || excluded.count(it->path()) != 0) continue;
        const auto content = read_file(it->path());
        if (!content) {
            findings.push_back(it->path().string() + ": cannot be read");
            continue;
        }
        if (auto found = find_leak(it->path().string(), *content)) findings.push_back(*found);
    }
    if (error) findings.push_back(dir.string() + ": cannot be listed: " + error.message());
    return findings;
}

}  // namespace iot::test
