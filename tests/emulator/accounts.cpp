#include "accounts.hpp"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace iot::emu {
namespace {

std::vector<std::string> string_list(const YAML::Node& node, const std::string& where) {
    std::vector<std::string> out;
    if (!node) return out;
    if (!node.IsSequence()) throw std::runtime_error(where + " must be a list");
    for (const auto& item : node) {
        if (!item.IsScalar()) throw std::runtime_error(where + " must hold strings");
        out.push_back(item.as<std::string>());
    }
    return out;
}

std::string required_string(const YAML::Node& node, const char* key, const std::string& where) {
    const auto value = node[key];
    if (!value || !value.IsScalar() || value.as<std::string>().empty())
        throw std::runtime_error(where + "." + key + " is required");
    return value.as<std::string>();
}

}  // namespace

const Account* Accounts::find(const std::string& access_key_id) const {
    for (const auto& account : accounts)
        if (account.access_key_id == access_key_id) return &account;
    return nullptr;
}

Accounts parse_accounts(const std::string& yaml_text, const std::string& base_dir) {
    YAML::Node root;
    try {
        root = YAML::Load(yaml_text);
    } catch (const YAML::Exception& e) {
        throw std::runtime_error(std::string("accounts file: ") + e.what());
    }
    if (!root.IsMap()) throw std::runtime_error("accounts file must be a mapping");
    for (const auto& entry : root) {
        const auto key = entry.first.as<std::string>();
        if (key != "instance_id" && key != "accounts" && key != "consumer_groups" && key != "iotda")
            throw std::runtime_error("accounts file: unknown key " + key);
    }
    Accounts out;
    if (const auto id = root["instance_id"]; id && !id.IsNull()) out.instance_id = id.as<std::string>();
    const auto listed_groups = string_list(root["consumer_groups"], "consumer_groups");
    out.consumer_groups.insert(listed_groups.begin(), listed_groups.end());

    if (const auto iotda = root["iotda"]) out.iotda = parse_iotda_tenant(iotda, base_dir);
    const auto accounts = root["accounts"];
    // A file for the IoTDA dialect alone needs no Alibaba account.
    if (out.iotda && !accounts && listed_groups.empty()) return out;
    if (!accounts || !accounts.IsSequence() || accounts.size() == 0)
        throw std::runtime_error("accounts: at least one account is required");
    for (std::size_t i = 0; i < accounts.size(); ++i) {
        const auto node = accounts[i];
        const std::string where = "accounts[" + std::to_string(i) + "]";
        if (!node.IsMap()) throw std::runtime_error(where + " must be a mapping");
        Account account;
        account.access_key_id = required_string(node, "access_key_id", where);
        account.access_key_secret = std::make_shared<const Secret>(required_string(node, "access_key_secret", where));
        for (auto& token : string_list(node["security_tokens"], where + ".security_tokens"))
            account.security_tokens.push_back(std::make_shared<const Secret>(std::move(token)));
        for (auto& group : string_list(node["consumer_groups"], where + ".consumer_groups")) {
            // With no top-level list, the groups the accounts name are the ones that exist.
            if (!listed_groups.empty() && out.consumer_groups.count(group) == 0)
                throw std::runtime_error(where + ".consumer_groups: " + group + " is not in consumer_groups");
            account.consumer_groups.insert(group);
        }
        if (out.find(account.access_key_id) != nullptr) throw std::runtime_error(where + ": duplicate access_key_id");
        out.accounts.push_back(std::move(account));
    }
    if (listed_groups.empty())
        for (const auto& account : out.accounts)
            out.consumer_groups.insert(account.consumer_groups.begin(), account.consumer_groups.end());
    return out;
}

Accounts load_accounts(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read accounts file " + path);
    std::ostringstream text;
    text << in.rdbuf();
    try {
        const auto slash = path.rfind('/');
        return parse_accounts(text.str(), slash == std::string::npos ? "." : path.substr(0, slash));
    } catch (const std::runtime_error& e) {
        throw std::runtime_error(path + ": " + e.what());
    }
}

}  // namespace iot::emu
