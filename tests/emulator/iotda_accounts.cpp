#include "iotda_accounts.hpp"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <stdexcept>

namespace iot::emu {
namespace {

const std::set<std::string> kTenantKeys{"instance_id", "access_keys", "queues"};
const std::set<std::string> kKeyKeys{"access_key", "access_code", "access_code_file"};

void only_keys(const YAML::Node& node, const std::set<std::string>& allowed, const std::string& where) {
    for (const auto& entry : node) {
        const auto key = entry.first.as<std::string>();
        if (allowed.count(key) == 0) throw std::runtime_error(where + ": unknown key " + key);
    }
}

std::string scalar(const YAML::Node& node, const std::string& where) {
    if (!node.IsScalar()) throw std::runtime_error(where + " must be a string");
    return node.as<std::string>();
}

// The first line, as a file written by `echo` ends with a newline the code lacks.
std::string read_code_file(const std::string& path, const std::string& where) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error(where + ": cannot read access_code_file " + path);
    std::string line;
    std::getline(in, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
}

std::shared_ptr<const Secret> access_code(const YAML::Node& node, const std::string& base_dir,
                                          const std::string& where) {
    const auto inline_code = node["access_code"];
    const auto file = node["access_code_file"];
    if (static_cast<bool>(inline_code) == static_cast<bool>(file))
        throw std::runtime_error(where + ": exactly one of access_code and access_code_file is required");
    std::string code;
    if (inline_code) {
        code = scalar(inline_code, where + ".access_code");
    } else {
        std::string path = scalar(file, where + ".access_code_file");
        if (!path.empty() && path[0] != '/' && !base_dir.empty()) path = base_dir + "/" + path;
        code = read_code_file(path, where);
    }
    if (code.empty()) throw std::runtime_error(where + ": the access code is empty");
    if (code.size() > 256) throw std::runtime_error(where + ": the access code is longer than 256 characters");
    return std::make_shared<const Secret>(std::move(code));
}

}  // namespace

const IotdaAccessKey* IotdaTenant::find(std::string_view access_key) const {
    for (const auto& key : access_keys)
        if (key.access_key == access_key) return &key;
    return nullptr;
}

bool valid_iotda_queue_name(std::string_view name) {
    if (name.size() < 8 || name.size() > 128) return false;
    for (const char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                        c == '-' || c == '.' || c == ':';
        if (!ok) return false;
    }
    return true;
}

IotdaTenant parse_iotda_tenant(const YAML::Node& node, const std::string& base_dir) {
    if (!node.IsMap()) throw std::runtime_error("iotda must be a mapping");
    only_keys(node, kTenantKeys, "iotda");
    IotdaTenant out;
    if (const auto id = node["instance_id"]; id && !id.IsNull()) out.instance_id = scalar(id, "iotda.instance_id");
    if (out.instance_id.find('|') != std::string::npos) throw std::runtime_error("iotda.instance_id must not hold '|'");

    const auto keys = node["access_keys"];
    if (!keys || !keys.IsSequence() || keys.size() == 0)
        throw std::runtime_error("iotda.access_keys: at least one access key is required");
    for (std::size_t i = 0; i < keys.size(); ++i) {
        const std::string where = "iotda.access_keys[" + std::to_string(i) + "]";
        const auto item = keys[i];
        if (!item.IsMap()) throw std::runtime_error(where + " must be a mapping");
        only_keys(item, kKeyKeys, where);
        IotdaAccessKey key;
        if (!item["access_key"]) throw std::runtime_error(where + ".access_key is required");
        key.access_key = scalar(item["access_key"], where + ".access_key");
        if (key.access_key.empty() || key.access_key.find_first_of("|=") != std::string::npos)
            throw std::runtime_error(where + ".access_key must be non-empty without '|' or '='");
        if (out.find(key.access_key) != nullptr) throw std::runtime_error(where + ": duplicate access_key");
        key.access_code = access_code(item, base_dir, where);
        out.access_keys.push_back(std::move(key));
    }

    out.queues.insert(kIotdaDefaultQueue);
    if (const auto queues = node["queues"]; queues && !queues.IsNull()) {
        if (!queues.IsSequence()) throw std::runtime_error("iotda.queues must be a list");
        for (const auto& q : queues) {
            const auto name = scalar(q, "iotda.queues");
            if (!valid_iotda_queue_name(name))
                throw std::runtime_error("iotda.queues: " + name +
                                         " is not 8-128 characters of letters, digits, _ - . :");
            out.queues.insert(name);
        }
    }
    if (out.queues.size() > kIotdaMaxQueues)
        throw std::runtime_error("iotda.queues: more than " + std::to_string(kIotdaMaxQueues) + " queues");
    return out;
}

}  // namespace iot::emu
