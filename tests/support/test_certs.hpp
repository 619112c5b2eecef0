// The TLS material of make-test-certs.sh, generated once per test process into a
// private temporary directory (removed at exit). Thread-safe.
#pragma once

#include <string>

namespace iot::test {

struct TestCerts {
    std::string dir;
    std::string ca;           // ca.pem: the CA clients trust
    std::string server_cert;  // CN=localhost, SAN localhost/127.0.0.1/::1
    std::string server_key;
    std::string rogue_ca;           // a CA nobody trusts
    std::string rogue_server_cert;  // same names, signed by the rogue CA
    std::string rogue_server_key;
    std::string expired_server_cert;  // good CA, validity in 2020
    std::string expired_server_key;
    std::string wrong_host_cert;  // good CA, CN/SAN other.invalid
    std::string wrong_host_key;
};

// Throws std::runtime_error when the script fails (its output is in the message).
[[nodiscard]] const TestCerts& test_certs();

}  // namespace iot::test
