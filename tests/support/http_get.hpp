// A plain HTTP/1.0 GET on 127.0.0.1, enough to scrape a Prometheus exporter
// in a test without curl (which the test machines and the CI container do not
// have) or an HTTP library.
//
// Stateless; call from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace iot::test {

struct HttpResponse {
    int status = 0;    // 200, 404, ...
    std::string body;  // everything after the blank line
};

// GET http://127.0.0.1:port<path>; nullopt when no connection or no complete
// status line within `timeout` (a server still starting, or gone).
[[nodiscard]] std::optional<HttpResponse> http_get(std::uint16_t port, std::string_view path,
                                                   std::chrono::milliseconds timeout);

// A TCP port on 127.0.0.1 that was free a moment ago (bound to 0, then closed):
// another process may take it before the caller's server does, so a caller
// retries with another one when its server cannot listen.
[[nodiscard]] std::uint16_t free_loopback_port();

}  // namespace iot::test
