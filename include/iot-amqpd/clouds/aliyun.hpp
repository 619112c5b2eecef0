// `cloud: aliyun`, Alibaba Cloud IoT Platform server-side subscription
// (PROTOCOL.md): what other units and the tests need of the profile.
#pragma once

#include <memory>
#include <string>

#include "iot-amqpd/cloud_profile.hpp"

namespace iot {

// One group's Alibaba settings, as the profile builds them from the config.
struct AliyunGroup {
    std::string consumer_group_id;
    std::string access_key_id;
    std::shared_ptr<const Secret> access_key_secret;
    SecretSource secret_source = SecretSource::inline_value;
    std::string secret_path;  // file path or credential name; empty for inline
    AuthMode auth_mode = AuthMode::aksign;
    std::string security_token_file;    // ststoken only; re-read before every connection attempt
    std::string security_token_digest;  // of its content at load time: a reload after it changed restarts the group
    SignMethod sign_method = SignMethod::hmacsha256;
    std::string iot_instance_id;
};

[[nodiscard]] const CloudProfile& aliyun_profile();
[[nodiscard]] std::shared_ptr<const CloudSettings> make_aliyun_settings(AliyunGroup group);
// The Alibaba settings of a group of `cloud: aliyun`; throws std::invalid_argument for another cloud.
[[nodiscard]] const AliyunGroup& aliyun_of(const GroupConfig& group);

// Reads an STS security token file (trailing white space trimmed) with the
// loader's secret-file reader; throws CredentialError saying why not.
[[nodiscard]] std::shared_ptr<const Secret> read_security_token(const std::string& path);

}  // namespace iot
