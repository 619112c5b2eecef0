// What each consumer group's TLS context trusts, and the proton options built
// from it.
//
// proton 0.37 calls SSL_CTX_set_default_verify_paths() for every SSL domain it
// creates (c/src/ssl/openssl.c, pni_init_ssl_domain), before anything the
// caller asks for. With OpenSSL's defaults that parses the whole system CA
// bundle (/usr/lib/ssl/cert.pem -> /etc/ssl/certs/ca-certificates.crt, about
// 140 certificates, ~0.8 MiB) into every group's context, and a configured
// tls.ca_file is only added on top of it: the group trusted the system store
// as well as its own CA. take_over_default_trust() makes proton's call load
// nothing; each group then trusts exactly one location of our choosing.
#pragma once

#include <proton/ssl.hpp>

#include <string>

#include "iot-amqpd/config.hpp"

namespace iot {

// The system trust store as OpenSSL would find it (SSL_CERT_FILE and
// SSL_CERT_DIR win over the compiled-in paths), captured once at start-up.
struct SystemTrust {
    std::string file;  // a PEM bundle
    bool file_exists = false;
    bool file_chosen_by_operator = false;  // SSL_CERT_FILE names a bundle other than OpenSSL's default
    std::string dir;                       // a directory of hash-named links (openssl rehash)
    bool dir_is_hashed = false;            // it exists and holds at least one <8 hex>.<n> entry
};

// The one file or directory a group's context trusts (proton's trust_db; a
// directory is searched on demand, a file is parsed whole). Empty when the
// group wants the system store and there is none: the context trusts nothing
// and every connection is refused, as it was on such a host before.
[[nodiscard]] std::string trusted_ca_location(const TlsSettings& tls, const SystemTrust& system);

// Reads OpenSSL's default trust locations from the environment and the file
// system.
[[nodiscard]] SystemTrust find_system_trust();

// Captures the system trust store, then sets SSL_CERT_FILE and SSL_CERT_DIR to
// "" so that the default paths proton loads into every context are empty.
// Changes the environment: call it in main() before any thread exists.
void take_over_default_trust();

// One group's client options: peer (and, with verify_hostname, host name)
// verification against trusted_ca_location(). Before take_over_default_trust()
// (tests that run the consumer in-process) proton's defaults stay loaded as
// well. Throws proton::error when the location cannot be loaded. Thread-safe.
[[nodiscard]] proton::ssl_client_options make_tls_client_options(const TlsSettings& tls);

}  // namespace iot
