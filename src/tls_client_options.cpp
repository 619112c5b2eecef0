#include "iot-amqpd/tls_client_options.hpp"

#include <openssl/x509.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>

namespace iot {
namespace {

// proton's default SSL domain is process-wide state set up without a lock
// (DESIGN.md §13): build each container's options one at a time.
std::mutex g_ssl_options_mutex;

// Written once by take_over_default_trust() before any thread exists, only
// read afterwards.
std::optional<SystemTrust>& taken_over_trust() {
    static std::optional<SystemTrust> trust;
    return trust;
}

bool is_hash_link_name(const std::string& name) {
    // <8 hex digits>.<n>, as openssl rehash names certificates (CRLs are .r<n>).
    if (name.size() < 10 || name[8] != '.') return false;
    for (std::size_t i = 0; i < name.size(); ++i) {
        const char c = name[i];
        const bool ok = i < 8 ? std::isxdigit(static_cast<unsigned char>(c)) != 0
                              : i == 8 || std::isdigit(static_cast<unsigned char>(c)) != 0;
        if (!ok) return false;
    }
    return true;
}

bool holds_hash_links(const std::string& dir) {
    std::error_code error;
    std::filesystem::directory_iterator it(dir, error);
    for (; !error && it != std::filesystem::directory_iterator(); it.increment(error)) {
        if (is_hash_link_name(it->path().filename().string())) return true;
    }
    return false;
}

}  // namespace

std::string trusted_ca_location(const TlsSettings& tls, const SystemTrust& system) {
    if (!tls.ca_file.empty()) return tls.ca_file;
    // The hashed directory holds the same certificates as the default bundle
    // (Debian's update-ca-certificates writes both from one list, and OpenSSL
    // trusts both by default), but OpenSSL reads from it only the certificates
    // a chain needs. An SSL_CERT_FILE naming another bundle is the operator's
    // choice: that one is honoured, whole.
    if (system.dir_is_hashed && !system.file_chosen_by_operator) return system.dir;
    if (system.file_exists) return system.file;
    if (system.dir_is_hashed) return system.dir;
    return {};
}

SystemTrust find_system_trust() {
    SystemTrust trust;
    // NOLINTNEXTLINE(concurrency-mt-unsafe): called before any thread exists
    const char* file = std::getenv(X509_get_default_cert_file_env());
    // NOLINTNEXTLINE(concurrency-mt-unsafe): called before any thread exists
    const char* dir = std::getenv(X509_get_default_cert_dir_env());
    trust.file = file != nullptr ? file : X509_get_default_cert_file();
    trust.dir = dir != nullptr ? dir : X509_get_default_cert_dir();
    std::error_code error;
    // Shells and containers often export SSL_CERT_FILE as the default bundle
    // itself: that is no choice of a bundle over the directory.
    trust.file_chosen_by_operator =
        file != nullptr && !std::filesystem::equivalent(trust.file, X509_get_default_cert_file(), error);
    trust.file_exists = !trust.file.empty() && std::filesystem::is_regular_file(trust.file, error);
    trust.dir_is_hashed = !trust.dir.empty() && holds_hash_links(trust.dir);
    return trust;
}

void take_over_default_trust() {
    taken_over_trust() = find_system_trust();
    // OpenSSL reads these when proton calls SSL_CTX_set_default_verify_paths;
    // set but empty, they name nothing, so every context starts with an empty
    // trust store (unset, they would mean the compiled-in defaults).
    // NOLINTNEXTLINE(concurrency-mt-unsafe): called before any thread exists
    (void)::setenv(X509_get_default_cert_file_env(), "", 1);
    // NOLINTNEXTLINE(concurrency-mt-unsafe): called before any thread exists
    (void)::setenv(X509_get_default_cert_dir_env(), "", 1);
}

proton::ssl_client_options make_tls_client_options(const TlsSettings& tls) {
    std::lock_guard<std::mutex> lock(g_ssl_options_mutex);
    const auto mode = tls.verify_hostname ? proton::ssl::VERIFY_PEER_NAME : proton::ssl::VERIFY_PEER;
    const auto& system = taken_over_trust();
    const std::string location = system ? trusted_ca_location(tls, *system) : tls.ca_file;
    if (location.empty()) return proton::ssl_client_options(mode);
    return proton::ssl_client_options(location, mode);
}

}  // namespace iot
