// SASL PLAIN for proton, installed process-wide through pnx_sasl_set_default_implementation
// (DESIGN.md §13): the server side hands the user name and password to the
// emulator running on the current thread; the client side sends PLAIN (or
// ANONYMOUS when no password is set) so in-process clients keep working.
#pragma once

#include <string>
#include <string_view>

struct pn_transport_t;

namespace iot::emu {

// Implemented by the emulator; called on its container thread during SASL.
class SaslServerHook {
public:
    virtual ~SaslServerHook() = default;
    // True to let the client in. `reported_user` is what proton records as the
    // authenticated user (never the raw user name: it may hold a security token).
    virtual bool authenticate(pn_transport_t* transport, std::string_view user_name, std::string_view password,
                              std::string& reported_user) = 0;
};

// Idempotent; must run before the first container starts.
void install_sasl_plugin();

// Routes server-side SASL on the calling thread to `hook` while alive. A
// container run on one thread sees only its own emulator; with no hook every
// server-side attempt fails.
class ScopedSaslServerHook {
public:
    explicit ScopedSaslServerHook(SaslServerHook* hook);
    ~ScopedSaslServerHook();
    ScopedSaslServerHook(const ScopedSaslServerHook&) = delete;
    ScopedSaslServerHook& operator=(const ScopedSaslServerHook&) = delete;

private:
    SaslServerHook* previous_;
};

}  // namespace iot::emu
