// A TLS AMQP server that offers only the SASL mechanisms it is told to
// (e.g. just ANONYMOUS) and records which mechanism each client that got
// through authenticated with. The cloud emulator offers only PLAIN, so a
// client that would also take ANONYMOUS could never show it there: this
// server shows it. Built on proton's own server-side SASL, so it needs a
// process where the emulator's SASL plugin was not installed (the
// integration tests run each case in its own process); check with
// accepts_mechanism() as a positive control.
//
// Thread-safety: the proton container runs on an internal thread; the public
// methods may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace iot::test {

class SaslProbeServer {
public:
    // Listens on 127.0.0.1 (a free port) with this certificate and key,
    // offering `mechanisms` (space-separated, e.g. "ANONYMOUS"). Throws
    // std::runtime_error when it cannot listen.
    SaslProbeServer(const std::string& cert_file, const std::string& key_file, const std::string& mechanisms);
    ~SaslProbeServer();
    SaslProbeServer(const SaslProbeServer&) = delete;
    SaslProbeServer& operator=(const SaslProbeServer&) = delete;

    [[nodiscard]] std::uint16_t port() const;

    // The mechanism of every connection that completed SASL and opened.
    [[nodiscard]] std::vector<std::string> authenticated_mechanisms() const;
    // TLS connections accepted (whatever happened next).
    [[nodiscard]] std::size_t connections_accepted() const;
    // Transport errors the server saw, one description each.
    [[nodiscard]] std::vector<std::string> errors() const;

    // Connects a proton client that allows only `mechanism`, trusting
    // `ca_file`, and returns "" when it opened a connection, else the error.
    [[nodiscard]] std::string connect_with_mechanism(const std::string& mechanism, const std::string& ca_file) const;

private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace iot::test
