#include "authenticator.hpp"

#include "iot-amqpd/signer.hpp"
#include "user_name.hpp"

namespace iot::emu {

Authenticator::Authenticator(std::shared_ptr<const Accounts> accounts, AuthPolicy policy)
    : accounts_(std::move(accounts)), policy_(policy) {}

AuthOutcome Authenticator::check(std::string_view user_name, std::string_view password, std::int64_t now_ms) {
    AuthOutcome out;
    auto parsed = parse_user_name(user_name);
    out.client_id = parsed.client_id_hint;
    out.group = parsed.consumer_group_hint;
    if (!parsed.user) {
        out.reason = parsed.error;
        return out;
    }
    const UserName& user = *parsed.user;
    out.client_id = user.client_id;
    out.group = user.consumer_group_id;
    out.timestamp_ms = user.timestamp_ms;

    const Account* account = accounts_->find(user.auth_id);
    if (account == nullptr) {
        out.reason = "unknown AccessKey " + mask_access_key_id(user.auth_id);
        return out;
    }
    const Secret* token = nullptr;
    if (user.auth_mode == AuthMode::ststoken) {
        for (const auto& known : account->security_tokens)
            if (known->equals(*user.security_token)) token = &*user.security_token;
        if (token == nullptr) {
            out.reason = "unknown securityToken";
            return out;
        }
    }
    const Secret expected = hmac_base64(user.sign_method, *account->access_key_secret,
                                        string_to_sign(user.auth_id, token, user.timestamp_ms));
    if (!expected.equals(password)) {
        out.reason = "signature mismatch";
        return out;
    }
    out.signature_valid = true;

    // Freshness is recorded in every mode; only strict mode refuses on it.
    const auto previous = last_timestamp_.find(user.client_id);
    out.stale = previous != last_timestamp_.end() && user.timestamp_ms <= previous->second;
    if (previous == last_timestamp_.end() || user.timestamp_ms > previous->second)
        last_timestamp_[user.client_id] = user.timestamp_ms;

    if (accounts_->consumer_groups.count(user.consumer_group_id) == 0) {
        out.reason = "consumer group does not exist";
        return out;
    }
    if (account->consumer_groups.count(user.consumer_group_id) == 0) {
        out.reason = "AccessKey not authorised for the consumer group (iot:sub)";
        return out;
    }
    if (accounts_->legacy()) {
        if (user.iot_instance_id && !user.iot_instance_id->empty()) {
            out.reason = "iotInstanceId given for a legacy instance";
            return out;
        }
    } else if (!user.iot_instance_id || *user.iot_instance_id != accounts_->instance_id) {
        out.reason =
            user.iot_instance_id && !user.iot_instance_id->empty() ? "wrong iotInstanceId" : "missing iotInstanceId";
        return out;
    }
    if (policy_.strict) {
        if (out.stale) {
            out.reason = "timestamp not newer than this client's previous one (replay)";
            return out;
        }
        const std::int64_t skew = policy_.skew.count();
        if (user.timestamp_ms < now_ms - skew || user.timestamp_ms > now_ms + skew) {
            out.reason = "timestamp outside the allowed skew";
            return out;
        }
    }
    out.ok = true;
    return out;
}

}  // namespace iot::emu
