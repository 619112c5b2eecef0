#include "iot-amqpd/tls_client_options.hpp"

#include <gtest/gtest.h>
#include <openssl/x509.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "temp_dir.hpp"

namespace iot {
namespace {

TlsSettings with_ca_file(std::string ca_file) {
    TlsSettings tls;
    tls.ca_file = std::move(ca_file);
    return tls;
}

SystemTrust debian_defaults() {
    SystemTrust system;
    system.file = "/usr/lib/ssl/cert.pem";
    system.file_exists = true;
    system.dir = "/usr/lib/ssl/certs";
    system.dir_is_hashed = true;
    return system;
}

TEST(TrustedCaLocation, ConfiguredCaFileIsTheOnlyTrust) {
    EXPECT_EQ(trusted_ca_location(with_ca_file("/etc/iot/ca.pem"), debian_defaults()), "/etc/iot/ca.pem");
    SystemTrust operator_bundle = debian_defaults();
    operator_bundle.file = "/opt/bundle.pem";
    operator_bundle.file_chosen_by_operator = true;
    EXPECT_EQ(trusted_ca_location(with_ca_file("/etc/iot/ca.pem"), operator_bundle), "/etc/iot/ca.pem");
}

TEST(TrustedCaLocation, SystemStoreIsTheHashedDirectoryRatherThanTheWholeBundle) {
    EXPECT_EQ(trusted_ca_location(TlsSettings{}, debian_defaults()), "/usr/lib/ssl/certs");
}

TEST(TrustedCaLocation, OperatorsBundleFromTheEnvironmentWins) {
    SystemTrust system = debian_defaults();
    system.file = "/opt/bundle.pem";
    system.file_chosen_by_operator = true;
    EXPECT_EQ(trusted_ca_location(TlsSettings{}, system), "/opt/bundle.pem");
}

TEST(TrustedCaLocation, MissingOperatorsBundleLeavesTheDirectory) {
    // OpenSSL itself would find nothing in the file and still search the directory.
    SystemTrust system = debian_defaults();
    system.file = "/opt/missing.pem";
    system.file_exists = false;
    system.file_chosen_by_operator = true;
    EXPECT_EQ(trusted_ca_location(TlsSettings{}, system), "/usr/lib/ssl/certs");
}

TEST(TrustedCaLocation, BundleWhenTheDirectoryIsNotHashed) {
    SystemTrust system = debian_defaults();
    system.dir_is_hashed = false;
    EXPECT_EQ(trusted_ca_location(TlsSettings{}, system), "/usr/lib/ssl/cert.pem");
}

TEST(TrustedCaLocation, NothingWhenThereIsNoSystemStore) {
    SystemTrust system = debian_defaults();
    system.file_exists = false;
    system.dir_is_hashed = false;
    EXPECT_EQ(trusted_ca_location(TlsSettings{}, system), "");
}

class FindSystemTrust : public ::testing::Test {
protected:
    void SetUp() override {
        save("SSL_CERT_FILE", file_);
        save("SSL_CERT_DIR", dir_);
    }
    void TearDown() override {
        restore("SSL_CERT_FILE", file_);
        restore("SSL_CERT_DIR", dir_);
    }

private:
    struct Saved {
        bool set = false;
        std::string value;
    };
    static void save(const char* name, Saved& saved) {
        const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): the unit tests are single-threaded
        saved.set = value != nullptr;
        if (value != nullptr) saved.value = value;
    }
    static void restore(const char* name, const Saved& saved) {
        // NOLINTBEGIN(concurrency-mt-unsafe): the unit tests are single-threaded
        if (saved.set) {
            (void)::setenv(name, saved.value.c_str(), 1);
        } else {
            (void)::unsetenv(name);
        }
        // NOLINTEND(concurrency-mt-unsafe)
    }
    Saved file_;
    Saved dir_;
};

TEST_F(FindSystemTrust, ReadsTheEnvironmentAndTellsAHashedDirectoryFromAPlainOne) {
    test::TempDir hashed;
    test::TempDir plain;
    std::ofstream(hashed.path() / "5ad8a5d6.0") << "a certificate\n";
    std::ofstream(plain.path() / "ca-certificates.crt") << "a bundle\n";
    std::ofstream(plain.path() / "5ad8a5d6.pem") << "not a hash link name\n";
    const std::string bundle = (plain.path() / "ca-certificates.crt").string();

    (void)::setenv("SSL_CERT_FILE", bundle.c_str(), 1);        // NOLINT(concurrency-mt-unsafe): single-threaded
    (void)::setenv("SSL_CERT_DIR", hashed.path().c_str(), 1);  // NOLINT(concurrency-mt-unsafe): single-threaded
    SystemTrust trust = find_system_trust();
    EXPECT_EQ(trust.file, bundle);
    EXPECT_TRUE(trust.file_exists);
    EXPECT_TRUE(trust.file_chosen_by_operator);
    EXPECT_EQ(trust.dir, hashed.path().string());
    EXPECT_TRUE(trust.dir_is_hashed);

    (void)::setenv("SSL_CERT_DIR", plain.path().c_str(), 1);  // NOLINT(concurrency-mt-unsafe): single-threaded
    (void)::setenv("SSL_CERT_FILE", (plain.path() / "none.pem").c_str(), 1);  // NOLINT(concurrency-mt-unsafe)
    trust = find_system_trust();
    EXPECT_FALSE(trust.dir_is_hashed);
    EXPECT_FALSE(trust.file_exists);

    (void)::unsetenv("SSL_CERT_FILE");  // NOLINT(concurrency-mt-unsafe): single-threaded
    trust = find_system_trust();
    EXPECT_FALSE(trust.file_chosen_by_operator);
    EXPECT_EQ(trust.file, X509_get_default_cert_file());
}

TEST_F(FindSystemTrust, TheDefaultBundleNamedInTheEnvironmentIsNoChoice) {
    const std::filesystem::path bundle = X509_get_default_cert_file();
    if (!std::filesystem::exists(bundle)) GTEST_SKIP() << "no system CA bundle at " << bundle;
    // Debian: /usr/lib/ssl/cert.pem is a link to /etc/ssl/certs/ca-certificates.crt.
    const auto same_file = std::filesystem::canonical(bundle).string();
    (void)::setenv("SSL_CERT_FILE", same_file.c_str(), 1);  // NOLINT(concurrency-mt-unsafe): single-threaded
    const SystemTrust trust = find_system_trust();
    EXPECT_TRUE(trust.file_exists);
    EXPECT_FALSE(trust.file_chosen_by_operator);
}

}  // namespace
}  // namespace iot
