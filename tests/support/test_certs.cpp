#include "test_certs.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <vector>

namespace iot::test {
namespace {

// Removes the directory when the process exits normally.
struct CertDir {
    std::string path;
    ~CertDir() {
        std::error_code ignored;
        if (!path.empty()) std::filesystem::remove_all(path, ignored);
    }
};

std::string make_temp_dir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/iot-certs-XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (::mkdtemp(buffer.data()) == nullptr) throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
    return buffer.data();
}

std::string run_script(const std::string& dir) {
    const std::string command = "bash '" IOT_SOURCE_DIR "/tests/support/make-test-certs.sh' '" + dir + "' 2>&1";
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
    if (!pipe) throw std::runtime_error("cannot run make-test-certs.sh");
    std::string output;
    char buf[512];
    while (std::fgets(buf, sizeof buf, pipe.get()) != nullptr) output += buf;
    const int status = ::pclose(pipe.release());
    if (status != 0) throw std::runtime_error("make-test-certs.sh failed: " + output);
    return output;
}

}  // namespace

const TestCerts& test_certs() {
    static CertDir cert_dir;
    static TestCerts certs;
    static std::once_flag once;
    std::call_once(once, [] {
        cert_dir.path = make_temp_dir();
        run_script(cert_dir.path);
        const std::string& d = cert_dir.path;
        certs.dir = d;
        certs.ca = d + "/ca.pem";
        certs.server_cert = d + "/server.pem";
        certs.server_key = d + "/server.key";
        certs.rogue_ca = d + "/rogue-ca.pem";
        certs.rogue_server_cert = d + "/rogue-server.pem";
        certs.rogue_server_key = d + "/rogue-server.key";
        certs.expired_server_cert = d + "/expired-server.pem";
        certs.expired_server_key = d + "/expired-server.key";
        certs.wrong_host_cert = d + "/wrong-host-server.pem";
        certs.wrong_host_key = d + "/wrong-host-server.key";
    });
    return certs;
}

}  // namespace iot::test
