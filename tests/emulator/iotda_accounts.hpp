// The `iotda:` section of the emulator's accounts file: one Huawei Cloud IoTDA
// tenant (/work/shared/clouds/huawei-iotda.md §2-3), its access credentials and
// the AMQP queues that exist in it.
//
//   iotda:
//     instance_id: ""            # optional; when set every user name must carry it
//     access_keys:
//       - access_key: AbCdEfGh
//         access_code: "..."     # or access_code_file: /path (first line; relative
//                                #  to the accounts file's directory)
//     queues: [DefaultQueue, factory-queue]   # DefaultQueue always exists
//
// Loaded once; immutable afterwards, so any thread may read it.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "iot-amqpd/secret.hpp"

namespace YAML {
class Node;
}

namespace iot::emu {

inline constexpr const char* kIotdaDefaultQueue = "DefaultQueue";
inline constexpr std::size_t kIotdaMaxQueues = 100;  // per tenant, as the cloud

struct IotdaAccessKey {
    std::string access_key;
    std::shared_ptr<const Secret> access_code;
};

struct IotdaTenant {
    // Empty: user names must not carry instanceId; otherwise they must carry
    // exactly this one (the cloud wants it when a region has several instances).
    std::string instance_id;
    std::vector<IotdaAccessKey> access_keys;
    std::set<std::string> queues;

    [[nodiscard]] const IotdaAccessKey* find(std::string_view access_key) const;
};

// 8-128 characters of letters, digits and _ - . : (the cloud's queue-name rule).
[[nodiscard]] bool valid_iotda_queue_name(std::string_view name);

// Throws std::runtime_error naming the problem (never a secret's value).
[[nodiscard]] IotdaTenant parse_iotda_tenant(const YAML::Node& node, const std::string& base_dir);

}  // namespace iot::emu
