#include "sasl_plugin.hpp"

#include <openssl/crypto.h>
#include <proton/sasl_plugin.h>

#include <cstring>
#include <mutex>
#include <string>

namespace iot::emu {
namespace {

thread_local SaslServerHook* current_hook = nullptr;

constexpr const char kPlain[] = "PLAIN";
constexpr const char kAnonymous[] = "ANONYMOUS";

// Per-transport state. proton keeps the pointers handed to
// pnx_sasl_set_succeeded and pnx_sasl_set_bytes_out, so they live here until free.
struct PlainContext {
    std::string bytes_out;      // client: the initial response
    std::string reported_user;  // server: the authenticated user's name
    ~PlainContext() {
        if (!bytes_out.empty()) OPENSSL_cleanse(bytes_out.data(), bytes_out.size());
    }
};

PlainContext& context_of(pn_transport_t* transport) {
    auto* ctx = static_cast<PlainContext*>(pnx_sasl_get_context(transport));
    if (ctx == nullptr) {
        ctx = new PlainContext();
        pnx_sasl_set_context(transport, ctx);
    }
    return *ctx;
}

bool offered(const char* mechs, std::string_view mech) {
    std::string_view list(mechs);
    while (!list.empty()) {
        const auto space = list.find(' ');
        if (list.substr(0, space) == mech) return true;
        if (space == std::string_view::npos) break;
        list.remove_prefix(space + 1);
    }
    return false;
}

void plugin_free(pn_transport_t* transport) { delete static_cast<PlainContext*>(pnx_sasl_get_context(transport)); }

const char* plugin_list_mechanisms(pn_transport_t*) { return kPlain; }

bool plugin_init_server(pn_transport_t* transport) {
    pnx_sasl_set_desired_state(transport, SASL_POSTED_MECHANISMS);
    return true;
}

bool plugin_init_client(pn_transport_t*) { return true; }

void plugin_prepare_write(pn_transport_t*) {}

void fail(pn_transport_t* transport) {
    pnx_sasl_set_failed(transport);
    pnx_sasl_set_desired_state(transport, SASL_POSTED_OUTCOME);
}

void plugin_process_init(pn_transport_t* transport, const char* mechanism, const pn_bytes_t* recv) {
    if (std::strcmp(mechanism, kPlain) != 0 || !pnx_sasl_is_transport_encrypted(transport) || current_hook == nullptr) {
        fail(transport);
        return;
    }
    // PLAIN: authzid NUL user NUL password (RFC 4616).
    std::string message(recv->start, recv->size);
    const auto first = message.find('\0');
    const auto second = first == std::string::npos ? std::string::npos : message.find('\0', first + 1);
    if (second == std::string::npos || message.find('\0', second + 1) != std::string::npos) {
        OPENSSL_cleanse(message.data(), message.size());
        fail(transport);
        return;
    }
    const std::string_view user(message.data() + first + 1, second - first - 1);
    const std::string_view password(message.data() + second + 1, message.size() - second - 1);
    PlainContext& ctx = context_of(transport);
    bool ok = false;
    try {
        ok = current_hook->authenticate(transport, user, password, ctx.reported_user);
    } catch (...) {
        ok = false;  // never let an exception unwind through proton's C code
    }
    OPENSSL_cleanse(message.data(), message.size());
    if (!ok) {
        fail(transport);
        return;
    }
    pnx_sasl_set_succeeded(transport, ctx.reported_user.c_str(), nullptr);
    pnx_sasl_set_desired_state(transport, SASL_POSTED_OUTCOME);
}

void plugin_process_response(pn_transport_t*, const pn_bytes_t*) {}

bool plugin_process_mechanisms(pn_transport_t* transport, const char* mechs) {
    const char* user = pnx_sasl_get_username(transport);
    const char* password = pnx_sasl_get_password(transport);
    const bool secure = pnx_sasl_is_transport_encrypted(transport) || pnx_sasl_get_allow_insecure_mechanisms(transport);
    PlainContext& ctx = context_of(transport);
    if (offered(mechs, kPlain) && secure && user != nullptr && password != nullptr) {
        pnx_sasl_set_selected_mechanism(transport, kPlain);
        ctx.bytes_out.clear();
        ctx.bytes_out += '\0';
        ctx.bytes_out += user;
        ctx.bytes_out += '\0';
        ctx.bytes_out += password;
        pnx_sasl_clear_password(transport);
        pnx_sasl_set_bytes_out(transport, pn_bytes(ctx.bytes_out.size(), ctx.bytes_out.data()));
        pnx_sasl_set_desired_state(transport, SASL_POSTED_INIT);
        return true;
    }
    if (offered(mechs, kAnonymous)) {
        pnx_sasl_set_selected_mechanism(transport, kAnonymous);
        ctx.bytes_out = user != nullptr ? user : "anonymous";
        pnx_sasl_set_bytes_out(transport, pn_bytes(ctx.bytes_out.size(), ctx.bytes_out.data()));
        pnx_sasl_set_desired_state(transport, SASL_POSTED_INIT);
        return true;
    }
    return false;
}

void plugin_process_challenge(pn_transport_t*, const pn_bytes_t*) {}
void plugin_process_outcome(pn_transport_t*, const pn_bytes_t*) {}
bool plugin_can_encrypt(pn_transport_t*) { return false; }
ssize_t plugin_max_encrypt_size(pn_transport_t*) { return 0; }
ssize_t plugin_encode(pn_transport_t*, pn_bytes_t, pn_bytes_t*) { return 0; }
ssize_t plugin_decode(pn_transport_t*, pn_bytes_t, pn_bytes_t*) { return 0; }

const pnx_sasl_implementation kPlugin = {
    plugin_free,
    plugin_list_mechanisms,
    plugin_init_server,
    plugin_init_client,
    plugin_prepare_write,
    plugin_process_init,
    plugin_process_response,
    plugin_process_mechanisms,
    plugin_process_challenge,
    plugin_process_outcome,
    plugin_can_encrypt,
    plugin_max_encrypt_size,
    plugin_encode,
    plugin_decode,
};

}  // namespace

void install_sasl_plugin() {
    static std::once_flag once;
    std::call_once(once, [] { pnx_sasl_set_default_implementation(&kPlugin); });
}

ScopedSaslServerHook::ScopedSaslServerHook(SaslServerHook* hook) : previous_(current_hook) { current_hook = hook; }

ScopedSaslServerHook::~ScopedSaslServerHook() { current_hook = previous_; }

}  // namespace iot::emu
