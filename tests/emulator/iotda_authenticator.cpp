#include "iotda_authenticator.hpp"

#include "iotda_user_name.hpp"

namespace iot::emu {

IotdaAuthenticator::IotdaAuthenticator(std::shared_ptr<const Accounts> accounts, std::chrono::milliseconds skew)
    : accounts_(std::move(accounts)), skew_(skew) {}

IotdaAuthOutcome IotdaAuthenticator::check(std::string_view user_name, std::string_view password,
                                           std::int64_t now_ms) const {
    IotdaAuthOutcome out;
    auto parsed = parse_iotda_user_name(user_name);
    out.access_key = parsed.access_key_hint;
    if (!parsed.user) {
        out.reason = parsed.error;
        return out;
    }
    const IotdaUserName& user = *parsed.user;
    out.access_key = user.access_key;
    out.timestamp_ms = user.timestamp_ms;
    if (!accounts_->iotda) {
        out.reason = "no IoTDA tenant is configured";
        return out;
    }
    const IotdaTenant& tenant = *accounts_->iotda;
    const IotdaAccessKey* key = tenant.find(user.access_key);
    if (key == nullptr) {
        out.reason = "unknown accessKey";
        return out;
    }
    if (!key->access_code->equals(password)) {
        out.reason = "wrong access code";
        return out;
    }
    if (tenant.instance_id.empty()) {
        if (user.instance_id) {
            out.reason = "instanceId given but the tenant has none";
            return out;
        }
    } else if (!user.instance_id) {
        out.reason = "missing instanceId";
        return out;
    } else if (*user.instance_id != tenant.instance_id) {
        out.reason = "wrong instanceId";
        return out;
    }
    const std::int64_t skew = skew_.count();
    if (user.timestamp_ms < now_ms - skew || user.timestamp_ms > now_ms + skew) {
        out.reason = "timestamp more than " + std::to_string(skew / 1000) + " s from the server's clock";
        return out;
    }
    out.ok = true;
    return out;
}

}  // namespace iot::emu
