// The emulated tenants: Alibaba's instance id, AccessKeys and the consumer
// groups each may read (PROTOCOL.md §2.5, §9.2), and optionally a Huawei
// IoTDA tenant (`iotda:`, iotda_accounts.hpp). Loaded once from YAML; immutable
// afterwards.
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "iot-amqpd/secret.hpp"
#include "iotda_accounts.hpp"

namespace iot::emu {

struct Account {
    std::string access_key_id;
    std::shared_ptr<const Secret> access_key_secret;
    std::vector<std::shared_ptr<const Secret>> security_tokens;  // accepted for authMode=ststoken
    std::set<std::string> consumer_groups;                       // authorised (iot:sub)
};

struct Accounts {
    // Empty: a legacy public instance (no iotInstanceId); otherwise a new public
    // or Enterprise instance whose id every user name must carry.
    std::string instance_id;
    std::vector<Account> accounts;
    std::set<std::string> consumer_groups;  // the groups that exist
    std::optional<IotdaTenant> iotda;       // absent: the IoTDA dialect refuses everyone

    [[nodiscard]] bool legacy() const { return instance_id.empty(); }
    [[nodiscard]] const Account* find(const std::string& access_key_id) const;
};

// Throws std::runtime_error naming the problem (never a secret's value).
// `base_dir` resolves a relative access_code_file (load_accounts: the file's directory).
[[nodiscard]] Accounts parse_accounts(const std::string& yaml_text, const std::string& base_dir = "");
[[nodiscard]] Accounts load_accounts(const std::string& path);

}  // namespace iot::emu
