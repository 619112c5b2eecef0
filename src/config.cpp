// The config schema (DESIGN.md §4): the top level, the keys every group has
// whatever its cloud (name, cloud, endpoint, connections, heartbeat, credit,
// memory_budget, reconnect, tls, dedup_window, client_id), client ids, output, metrics and
// log. Each group's cloud keys belong to its profile (cloud_profile.hpp),
// which reads them with the same generic reader (config_reader.hpp). Settings
// are read once per map (defaults: or one group), so a bad default is reported
// once, at the line where it is written, not once per group.
//
// Thread: load_config() has no shared state; call it from any one thread.
#include "iot-amqpd/config.hpp"

#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <climits>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
#include <utility>

#include "iot-amqpd/cloud_profile.hpp"
#include "iot-amqpd/config_reader.hpp"

namespace iot {
namespace {

using namespace std::chrono_literals;
using namespace cfg;

// ---- the keys ----------------------------------------------------------------

const KeySet kSharedKeys{"cloud",  "endpoint",      "client_id", "connections", "heartbeat",
                         "credit", "memory_budget", "reconnect", "tls",         "dedup_window"};
const KeySet kReconnectKeys{"initial_delay", "max_delay", "multiplier", "jitter"};
const KeySet kTlsKeys{"ca_file", "verify_hostname", "insecure_plaintext"};
const KeySet kTopKeys{"defaults", "consumer_groups", "output", "metrics", "log"};
const KeySet kOutputKeys{"type", "syslog_identifier"};
const KeySet kMetricsKeys{"textfile", "interval"};
const KeySet kLogKeys{"level"};

// The profile whose keys (or group-only keys) hold `key`; null when none does.
const CloudProfile* owner_of(std::string_view key) {
    for (const CloudProfile* profile : cloud_profiles())
        if (contains(profile->keys(), key) || contains(profile->group_only_keys(), key)) return profile;
    return nullptr;
}

bool group_only(std::string_view key) {
    const CloudProfile* owner = owner_of(key);
    return key == "name" || (owner != nullptr && contains(owner->group_only_keys(), key));
}

// Under defaults: the shared keys and every profile's keys, for the groups of that profile.
KeySet defaults_keys() {
    KeySet keys = kSharedKeys;
    for (const CloudProfile* profile : cloud_profiles())
        keys.insert(keys.end(), profile->keys().begin(), profile->keys().end());
    return keys;
}

// In a group: name, the shared keys and every profile's keys; one of another
// profile than the group's is reported once the group's cloud is known.
KeySet group_keys() {
    KeySet keys = defaults_keys();
    keys.push_back("name");
    for (const CloudProfile* profile : cloud_profiles())
        keys.insert(keys.end(), profile->group_only_keys().begin(), profile->group_only_keys().end());
    return keys;
}

// The keys of one group's own profile that apply to it.
bool applies_to(std::string_view key, const CloudProfile& profile) {
    return key == "name" || contains(kSharedKeys, key) || contains(profile.keys(), key) ||
           contains(profile.group_only_keys(), key);
}

std::string cloud_names(std::string_view separator_last) {
    std::string names;
    const auto& all = cloud_profiles();
    for (std::size_t i = 0; i < all.size(); ++i) {
        if (i > 0) names += i + 1 == all.size() ? std::string(separator_last) : std::string(", ");
        names += all[i]->name();
    }
    return names;
}

std::optional<const CloudProfile*> parse_cloud(std::string_view text) {
    if (const CloudProfile* profile = find_cloud_profile(text)) return profile;
    return std::nullopt;
}

}  // namespace

std::vector<std::string> accepted_config_keys() {
    std::vector<std::string> keys;
    auto add = [&keys](std::string_view prefix, const KeySet& set) {
        for (const auto key : set) keys.push_back(std::string(prefix) + std::string(key));
    };
    add("", kTopKeys);
    add("consumer_groups.", {"name"});
    add("defaults.", kSharedKeys);
    add("defaults.reconnect.", kReconnectKeys);
    add("defaults.tls.", kTlsKeys);
    for (const CloudProfile* profile : cloud_profiles()) {
        add("consumer_groups.", profile->group_only_keys());
        add("defaults.", profile->keys());
    }
    add("output.", kOutputKeys);
    add("metrics.", kMetricsKeys);
    add("log.", kLogKeys);
    return keys;
}

namespace {

// ---- value checks (each returns the problem, empty when fine) ----------------

bool is_name_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.' || c == '-';
}

std::string group_name_problem(std::string_view name) {
    if (name.empty()) return "must not be empty";
    if (name.size() > 64)
        return quoted(name) + " is " + std::to_string(name.size()) + " characters long; at most 64 are allowed";
    if (!std::all_of(name.begin(), name.end(), is_name_char))
        return quoted(name) +
               " may contain only letters, digits, '_', '.' and '-' (it appears in logs, journal "
               "fields and client ids)";
    return {};
}

std::string client_id_pattern_problem(std::string_view pattern) {
    if (pattern.empty()) return "must not be empty (the default is \"%H-%g\": host name and group name)";
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        if (pattern[i] != '%') continue;
        if (i + 1 == pattern.size()) return "ends with a lone %; write %% for a literal %";
        const char code = pattern[++i];
        if (code != 'H' && code != 'g' && code != '%')
            return std::string("unknown placeholder %") + code +
                   "; use %H (host name), %g (group name) or %% (a literal %)";
    }
    return forbidden_separator(pattern);
}

std::string syslog_identifier_problem(std::string_view text) {
    if (text.empty()) return "must not be empty";
    if (std::any_of(text.begin(), text.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); }))
        return "must not contain spaces or other whitespace, got " + quoted(text);
    return {};
}

std::string metrics_file_problem(std::string_view path) {
    if (path.empty() || path.front() == '/') return {};
    return "must be an absolute path such as /run/iot-amqpd/metrics.prom, got " + quoted(path);
}

// ---- endpoint ----------------------------------------------------------------

struct Endpoint {
    std::string text;
    std::string host;
    std::uint16_t port = 5671;
    bool plain = false;  // amqp://
};

bool is_host_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '_';
}

bool is_ipv6_char(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0 || c == ':' || c == '.'; }

std::string parse_port(std::string_view text, Endpoint& out) {
    const std::optional<std::int64_t> port = parse_integer(text);
    if (!port || *port < 1 || *port > 65535 || starts_with(text, "-"))
        return "the port must be a number from 1 to 65535, got " + quoted(text);
    out.port = static_cast<std::uint16_t>(*port);
    return {};
}

// "host", "host:port", "[v6]" or "[v6]:port" into `out`.
std::string parse_authority(std::string_view rest, Endpoint& out) {
    std::string_view host = rest;
    std::optional<std::string_view> port;
    if (starts_with(rest, "[")) {
        const std::size_t close = rest.find(']');
        if (close == std::string_view::npos) return "the IPv6 address has no closing ']'";
        host = rest.substr(1, close - 1);
        const std::string_view after = rest.substr(close + 1);
        if (!after.empty() && after.front() != ':') return "unexpected " + quoted(after) + " after the IPv6 address";
        if (!after.empty()) port = after.substr(1);
        if (host.empty() || !std::all_of(host.begin(), host.end(), is_ipv6_char))
            return quoted(host) + " is not an IPv6 address";
    } else {
        const std::size_t colon = rest.find(':');
        if (colon != std::string_view::npos && rest.find(':', colon + 1) != std::string_view::npos)
            return "an IPv6 address must be written in brackets, e.g. amqps://[::1]:5671";
        host = rest.substr(0, colon);
        if (colon != std::string_view::npos) port = rest.substr(colon + 1);
        if (host.empty()) return "has no host name; expected amqps://host[:port]";
        if (!std::all_of(host.begin(), host.end(), is_host_char))
            return "the host name " + quoted(host) + " contains characters a host name cannot have";
    }
    out.host = std::string(host);
    return port ? parse_port(*port, out) : std::string();
}

std::string endpoint_problem(std::string_view text, Endpoint& out) {
    const std::size_t scheme_end = text.find("://");
    if (scheme_end == std::string_view::npos) return "expected amqps://host[:port], got " + quoted(text);
    const std::string_view scheme = text.substr(0, scheme_end);
    out.plain = iequals(scheme, "amqp");
    if (!out.plain && !iequals(scheme, "amqps"))
        return "unsupported scheme " + quoted(scheme) + "; use amqps://host[:port]";
    if (out.plain) out.port = 5672;
    std::string_view rest = text.substr(scheme_end + 3);
    if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
    if (rest.find_first_of("/?#@") != std::string_view::npos)
        return "expected just amqps://host[:port], without user name, path or query, got " + quoted(text);
    out.text = std::string(text);
    return parse_authority(rest, out);
}

Field<Endpoint> get_endpoint(const MapReader& map, ErrorLog& log) {
    const Field<std::string> text = get_string(map, "endpoint", log);
    if (!text.valid()) return same_state<Endpoint>(text);
    Endpoint endpoint;
    std::string problem = endpoint_problem(text.value, endpoint);
    if (!problem.empty()) return rejected<Endpoint>(log, text.where, std::move(problem));
    return valid_field(std::move(endpoint), text.where);
}

// ---- the shared per-group keys of one map ------------------------------------

// As written in one map: defaults: or one consumer group.
struct SharedLayer {
    Where where;  // the map itself
    Field<std::string> name;
    Field<const CloudProfile*> cloud;
    Field<Endpoint> endpoint;
    Field<std::string> client_id;
    Field<std::int64_t> connections;
    Field<Millis> heartbeat;
    Field<std::int64_t> credit;
    Field<std::int64_t> memory_budget;
    Field<Millis> initial_delay;
    Field<Millis> max_delay;
    Field<double> multiplier;
    Field<double> jitter;
    Field<std::string> ca_file;
    Field<bool> verify_hostname;
    Field<bool> insecure_plaintext;
    Field<std::int64_t> dedup_window;
};

SharedLayer read_shared(const MapReader& map, ErrorLog& log) {
    static const std::string kClouds = cloud_names(" or ");
    SharedLayer layer;
    layer.where = map.where();
    layer.name = get_checked_string(map, "name", group_name_problem, log);
    layer.cloud = get_choice(map, "cloud", parse_cloud, kClouds, log);
    layer.endpoint = get_endpoint(map, log);
    layer.client_id = get_checked_string(map, "client_id", client_id_pattern_problem, log);
    layer.connections = get_integer(map, "connections", 1, 64, log);
    // The profile sets the bounds (the cloud's idle time-out rules); these only keep the value sane.
    layer.heartbeat = get_duration(map, "heartbeat", 1ms, 24h, log);
    layer.credit = get_integer(map, "credit", 1, 10000, log);
    layer.memory_budget = get_byte_size(map, "memory_budget", kMinMemoryBudget, kMaxMemoryBudget, log);
    layer.dedup_window = get_integer(map, "dedup_window", 0, 1000000, log);
    if (const std::optional<MapReader> reconnect = get_map(map, "reconnect", kReconnectKeys, log)) {
        layer.initial_delay = get_duration(*reconnect, "initial_delay", 100ms, 10min, log);
        layer.max_delay = get_duration(*reconnect, "max_delay", 100ms, 1h, log);
        layer.multiplier = get_number(*reconnect, "multiplier", 1.0, 10.0, log);
        layer.jitter = get_number(*reconnect, "jitter", 0.0, 1.0, log);
    }
    if (const std::optional<MapReader> tls = get_map(map, "tls", kTlsKeys, log)) {
        layer.ca_file = get_checked_string(*tls, "ca_file", readable_file_problem, log);
        layer.verify_hostname = get_choice(*tls, "verify_hostname", parse_bool, "true or false", log);
        layer.insecure_plaintext = get_choice(*tls, "insecure_plaintext", parse_bool, "true or false", log);
    }
    return layer;
}

void merge_shared(GroupConfig& group, const SharedLayer& own, const SharedLayer& inherited) {
    set_if_valid(own.name, group.name);
    if (const Field<Endpoint>& endpoint = pick(own.endpoint, inherited.endpoint); endpoint.valid()) {
        group.endpoint = endpoint.value.text;
        group.host = endpoint.value.host;
        group.port = endpoint.value.port;
        group.plaintext = endpoint.value.plain;
    }
    apply(own.client_id, inherited.client_id, group.client_id_pattern);
    apply(own.connections, inherited.connections, group.connections);
    apply(own.heartbeat, inherited.heartbeat, group.heartbeat);
    apply(own.credit, inherited.credit, group.credit);
    apply(own.memory_budget, inherited.memory_budget, group.memory_budget);
    apply(own.initial_delay, inherited.initial_delay, group.reconnect.initial_delay);
    apply(own.max_delay, inherited.max_delay, group.reconnect.max_delay);
    apply(own.multiplier, inherited.multiplier, group.reconnect.multiplier);
    apply(own.jitter, inherited.jitter, group.reconnect.jitter);
    apply(own.ca_file, inherited.ca_file, group.tls.ca_file);
    apply(own.verify_hostname, inherited.verify_hostname, group.tls.verify_hostname);
    apply(own.insecure_plaintext, inherited.insecure_plaintext, group.tls.insecure_plaintext);
    apply(own.dedup_window, inherited.dedup_window, group.dedup_window);
}

// ---- the checks across the shared keys and the group's profile --------------

void check_backoff(const SharedLayer& own, const SharedLayer& inherited, const std::string& label, ErrorLog& log) {
    const Field<Millis>& initial = pick(own.initial_delay, inherited.initial_delay);
    const Field<Millis>& max = pick(own.max_delay, inherited.max_delay);
    if (initial.invalid() || max.invalid()) return;
    const ReconnectPolicy fallback;
    const Millis first = initial.valid() ? initial.value : fallback.initial_delay;
    const Millis last = max.valid() ? max.value : fallback.max_delay;
    if (last >= first) return;
    const std::string first_text = initial.valid() ? initial.text : format_duration(first);
    const std::string last_text = max.valid() ? max.text : format_duration(last);
    const bool group_involved = !own.initial_delay.absent() || !own.max_delay.absent();
    if (max.valid())
        log.add(max.where, last_text + " is below initial_delay " + first_text +
                               "; max_delay must be at least initial_delay" +
                               for_group(max.where, group_involved, label));
    else
        log.add(initial.where, first_text + " is above max_delay, which defaults to " + last_text +
                                   "; set a larger max_delay too" + for_group(initial.where, group_involved, label));
}

// The heartbeat the cloud accepts is the profile's rule (Alibaba: 30s..300s).
void check_heartbeat(const SharedLayer& own, const SharedLayer& inherited, const CloudProfile& profile,
                     const std::string& label, ErrorLog& log) {
    const Field<Millis>& heartbeat = pick(own.heartbeat, inherited.heartbeat);
    if (!heartbeat.valid()) return;
    const ProfileLimits limits = profile.limits();
    const std::string group = for_group(heartbeat.where, !own.heartbeat.absent() || !own.cloud.absent(), label);
    if (heartbeat.value < limits.min_heartbeat)
        log.add(heartbeat.where,
                heartbeat.text + " is below the minimum " + format_duration(limits.min_heartbeat) + group);
    else if (limits.max_heartbeat < heartbeat.value)
        log.add(heartbeat.where,
                heartbeat.text + " is above the maximum " + format_duration(limits.max_heartbeat) + group);
}

// amqp:// only where the profile allows it and the operator asked for it.
void check_plaintext(const SharedLayer& own, const SharedLayer& inherited, const CloudProfile& profile,
                     const std::string& label, ErrorLog& log) {
    const Field<Endpoint>& endpoint = pick(own.endpoint, inherited.endpoint);
    const Field<bool>& insecure = pick(own.insecure_plaintext, inherited.insecure_plaintext);
    if (!endpoint.valid() || insecure.invalid()) return;
    const bool asked = insecure.valid() && insecure.value;
    const bool group_involved = !own.endpoint.absent() || !own.insecure_plaintext.absent() || !own.cloud.absent();
    if (endpoint.value.plain && profile.limits().tls_required) {
        log.add(endpoint.where, "plain amqp:// is not allowed: the cloud requires TLS, use amqps:// (port 5671)" +
                                    for_group(endpoint.where, group_involved, label));
    } else if (endpoint.value.plain && !asked) {
        log.add(endpoint.where,
                "plain amqp:// sends the password and every message unencrypted: use amqps://, or set "
                "tls: { insecure_plaintext: true } for a broker on a network you trust" +
                    for_group(endpoint.where, group_involved, label));
    } else if (!endpoint.value.plain && asked) {
        log.add(insecure.where, "insecure_plaintext: true applies only to an amqp:// endpoint, and this one is " +
                                    endpoint.value.text + for_group(insecure.where, group_involved, label));
    }
}

// ---- what a reload compares ----------------------------------------------------

void flatten(const MapReader::Entry& entry, const std::string& key, const ReadContext& ctx,
             std::map<std::string, std::string>& out) {
    if (entry.value.IsMap()) {
        for (auto it = entry.value.begin(); it != entry.value.end(); ++it) {
            if (!it->first.IsScalar()) continue;
            const std::string suffix = "." + it->first.Scalar();
            flatten({it->first, it->second, entry.path + suffix}, key + suffix, ctx, out);
        }
        return;
    }
    std::string text = entry.value.IsScalar() ? entry.value.Scalar() : YAML::Dump(entry.value);
    if (const auto digest = ctx.content_digests.find(entry.path); digest != ctx.content_digests.end()) {
        if (digest->second.replaces_text) text.clear();
        text += "#" + digest->second.digest;
    }
    out[key] = std::move(text);
}

std::string_view family_of(const std::string& key, const ReadContext& ctx) {
    const auto family = ctx.secret_family.find(key);
    return family == ctx.secret_family.end() ? std::string_view(key) : std::string_view(family->second);
}

std::map<std::string, std::string> written_settings(const MapReader* defaults, const MapReader& own,
                                                    const CloudProfile& profile, const ReadContext& ctx) {
    std::set<std::string_view> own_families;
    for (const MapReader::Entry& entry : own.entries()) own_families.insert(family_of(entry.key.Scalar(), ctx));
    std::map<std::string, std::string> written;
    for (const MapReader* map : {defaults, &own}) {
        if (map == nullptr) continue;
        for (const MapReader::Entry& entry : map->entries()) {
            const std::string& key = entry.key.Scalar();
            if (!applies_to(key, profile)) continue;
            // A secret source set in the group replaces every source under defaults:.
            if (map == defaults && family_of(key, ctx) != key && own_families.count(family_of(key, ctx)) > 0) continue;
            // A nested map written in a group replaces defaults' keys one by one, as the merge does.
            flatten(entry, key, ctx, written);
        }
    }
    written["cloud"] = std::string(profile.name());
    return written;
}

// ---- one group ---------------------------------------------------------------

// A group being built, with what the checks across groups point at.
struct GroupDraft {
    GroupConfig config;
    Where where;                 // the group's map
    Where name_where;            // meaningful when named
    bool named = false;          // the name is present and valid
    Where client_id_where;       // client_id as written, or the group's map for the default pattern
    bool ids_checkable = false;  // name, client_id and connections are all valid
    bool duplicate = false;      // its name was used by an earlier group
};

// defaults:, read once for the shared keys and once per profile a group uses.
struct Defaults {
    std::optional<MapReader> map;
    SharedLayer shared;
    std::map<const CloudProfile*, std::unique_ptr<ProfileLayer>> layers;
    std::set<const CloudProfile*> used;

    const ProfileLayer& layer_for(const CloudProfile& profile, ReadContext& ctx) {
        used.insert(&profile);
        auto& layer = layers[&profile];
        if (!layer) {
            static const YAML::Node kNone;
            layer = map ? profile.read(*map, ctx)
                        : profile.read(MapReader(kNone, "defaults", profile.keys(), ctx.log), ctx);
        }
        return *layer;
    }
};

// A key of another profile than the group's: it would be ignored, which is never what was meant.
void check_foreign_keys(const MapReader& map, const CloudProfile& profile, ErrorLog& log) {
    for (const MapReader::Entry& entry : map.entries()) {
        const std::string& key = entry.key.Scalar();
        if (applies_to(key, profile)) continue;
        const CloudProfile* owner = owner_of(key);
        if (owner == nullptr) continue;
        log.add(where_of(entry.key, entry.path), "belongs to cloud: " + std::string(owner->name()) +
                                                     ", and this group uses cloud: " + std::string(profile.name()) +
                                                     " (" + std::string(profile.title()) +
                                                     "); remove it or set cloud: " + std::string(owner->name()));
    }
}

GroupDraft build_group(const MapReader& map, Defaults& defaults, ReadContext& ctx) {
    ErrorLog& log = ctx.log;
    const SharedLayer own = read_shared(map, log);
    const SharedLayer& inherited = defaults.shared;
    GroupDraft draft;
    draft.where = own.where;
    draft.named = own.name.valid();
    draft.name_where = own.name.where;
    const std::string label = draft.named ? "\"" + own.name.value + "\"" : own.where.path;
    const GroupFrame frame{own.where, label};

    const Field<const CloudProfile*>& cloud = pick(own.cloud, inherited.cloud);
    const CloudProfile* profile = cloud.valid() ? cloud.value : find_cloud_profile(kDefaultCloud);
    if (own.name.absent())
        frame.missing(log, "name",
                      "every consumer group needs a name (letters, digits, '_', '.' and '-', at most 64), "
                      "used in logs and client ids");
    if (pick(own.endpoint, inherited.endpoint).absent())
        frame.missing(log, "endpoint", "set it here or under defaults: " + profile->endpoint_advice());
    if (!cloud.invalid()) {
        check_foreign_keys(map, *profile, log);
        const std::unique_ptr<ProfileLayer> layer = profile->read(map, ctx);
        draft.config.settings = profile->build(*layer, defaults.layer_for(*profile, ctx), frame, ctx);
        check_heartbeat(own, inherited, *profile, label, log);
        check_plaintext(own, inherited, *profile, label, log);
    }
    check_backoff(own, inherited, label, log);
    merge_shared(draft.config, own, inherited);
    draft.config.cloud = std::string(profile->name());
    draft.config.written = written_settings(defaults.map ? &*defaults.map : nullptr, map, *profile, ctx);
    if (draft.config.settings) draft.config.written["#content"] = draft.config.settings->reload_digest();
    const Field<std::string>& client_id = pick(own.client_id, inherited.client_id);
    draft.client_id_where = client_id.absent() ? with_path(own.where, own.where.path + ".client_id") : client_id.where;
    draft.ids_checkable =
        draft.named && !client_id.invalid() && !pick(own.connections, inherited.connections).invalid();
    return draft;
}

// ---- the consumer group list and checks across groups ------------------------

std::string top_level_hint(std::string_view key) {
    if (contains(defaults_keys(), key) || group_only(key))
        return std::string(key) + " is a per-group setting: put it under defaults: or inside a consumer group";
    return {};
}

std::string defaults_hint(std::string_view key) {
    if (group_only(key))
        return std::string(key) + " differs per group: set it inside each consumer group, not under defaults";
    return {};
}

std::vector<GroupDraft> read_groups(const MapReader& top, Defaults& defaults, ReadContext& ctx) {
    static const KeySet kGroupKeys = group_keys();
    const std::string advice = "add at least one consumer group with a name and the keys of its cloud";
    const MapReader::Entry* entry = top.find("consumer_groups");
    if (entry == nullptr) {
        ctx.log.add(with_path(top.where(), "consumer_groups"), "missing: " + advice);
        return {};
    }
    const YAML::Node& list = entry->value;
    if (list.IsNull() || (list.IsSequence() && list.size() == 0)) {
        ctx.log.add(value_where(*entry), "the list is empty; " + advice);
        return {};
    }
    if (!list.IsSequence()) {
        ctx.log.add(value_where(*entry),
                    "expected a list of consumer groups (items starting with \"- name:\"), got " + describe(list));
        return {};
    }
    std::vector<GroupDraft> drafts;
    std::size_t index = 0;
    for (const YAML::Node& item : list) {
        const std::string path = "consumer_groups[" + std::to_string(index++) + "]";
        if (!item.IsMap()) {
            ctx.log.add(where_of(item, path),
                        "expected a consumer group (a map with name, consumer_group_id, ...), got " + describe(item));
            continue;
        }
        const MapReader map(item, path, kGroupKeys, ctx.log);
        drafts.push_back(build_group(map, defaults, ctx));
    }
    return drafts;
}

// A key under defaults: for a cloud no group uses would be silently ignored.
void check_unused_defaults(const Defaults& defaults, ErrorLog& log) {
    if (!defaults.map) return;
    for (const MapReader::Entry& entry : defaults.map->entries()) {
        const CloudProfile* owner = owner_of(entry.key.Scalar());
        if (owner == nullptr || defaults.used.count(owner) > 0) continue;
        log.add(where_of(entry.key, entry.path), "belongs to cloud: " + std::string(owner->name()) +
                                                     ", which no consumer group uses; remove it, or set cloud: " +
                                                     std::string(owner->name()) + " in the groups it is for");
    }
}

void check_unique_names(std::vector<GroupDraft>& drafts, ErrorLog& log) {
    std::map<std::string, const GroupDraft*> first_use;
    for (GroupDraft& draft : drafts) {
        if (!draft.named) continue;
        const auto [first, inserted] = first_use.emplace(draft.config.name, &draft);
        if (inserted) continue;
        draft.duplicate = true;
        log.add(draft.name_where, "duplicate group name \"" + draft.config.name + "\": " + first->second->where.path +
                                      " (line " + std::to_string(first->second->where.line) +
                                      ") already uses it; group names must be unique");
    }
}

std::string expand_client_id(std::string_view pattern, std::string_view host, std::string_view group) {
    std::string id;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        if (pattern[i] != '%' || i + 1 == pattern.size()) {
            id += pattern[i];
            continue;
        }
        const char code = pattern[++i];
        if (code == 'H')
            id += host;
        else if (code == 'g')
            id += group;
        else
            id += code;  // "%%"; other codes were rejected when the pattern was read
    }
    return id;
}

std::vector<std::string> client_ids_of(const GroupConfig& group, const std::string& host) {
    const std::string base = expand_client_id(group.client_id_pattern, host, group.name);
    if (group.connections <= 1) return {base};
    std::vector<std::string> ids;
    for (int n = 1; n <= group.connections; ++n) ids.push_back(base + "-" + std::to_string(n));
    return ids;
}

std::string client_id_problem(const std::string& id) {
    constexpr std::size_t kLongest = 64;
    if (id.empty()) return "the client id comes out empty";
    if (id.size() > kLongest)
        return "the client id \"" + id + "\" is " + std::to_string(id.size()) +
               " characters long; the cloud allows at most 64 (shorten client_id, the group name or the host name)";
    if (id.find_first_of("|,=") != std::string::npos)
        return "the client id \"" + id +
               "\" contains '|', ',' or '=', which the cloud's user name cannot carry "
               "(check the host name used for %H)";
    return {};
}

// The first problem with any of the group's ids, empty when there is none.
std::string client_ids_problem(const std::vector<std::string>& ids) {
    for (const std::string& id : ids)
        if (std::string problem = client_id_problem(id); !problem.empty()) return problem;
    return {};
}

void claim_client_ids(const GroupDraft& draft, std::map<std::string, const GroupDraft*>& owners, ErrorLog& log) {
    for (const std::string& id : draft.config.client_ids) {
        const auto [owner, inserted] = owners.emplace(id, &draft);
        if (inserted) continue;
        log.add(draft.client_id_where, "consumer group \"" + draft.config.name + "\" would use client id \"" + id +
                                           "\", which consumer group \"" + owner->second->config.name +
                                           "\" already uses; every connection needs its own client id (put %g "
                                           "in client_id)");
        return;
    }
}

void assign_client_ids(std::vector<GroupDraft>& drafts, const std::string& host, ErrorLog& log) {
    std::map<std::string, const GroupDraft*> owners;
    for (GroupDraft& draft : drafts) {
        if (!draft.ids_checkable) continue;  // already reported
        draft.config.client_ids = client_ids_of(draft.config, host);
        if (std::string problem = client_ids_problem(draft.config.client_ids); !problem.empty()) {
            if (in_defaults(draft.client_id_where)) problem += " (consumer group \"" + draft.config.name + "\")";
            log.add(draft.client_id_where, std::move(problem));
        } else if (!draft.duplicate) {
            claim_client_ids(draft, owners, log);
        }
    }
}

// ---- output, metrics, log ----------------------------------------------------

std::optional<OutputType> parse_output_type(std::string_view text) {
    if (iequals(text, "journald")) return OutputType::journald;
    if (iequals(text, "stdout")) return OutputType::stdout_jsonl;
    return std::nullopt;
}

OutputConfig read_output(const MapReader& top, ErrorLog& log) {
    OutputConfig output;
    if (const std::optional<MapReader> map = get_map(top, "output", kOutputKeys, log)) {
        set_if_valid(get_choice(*map, "type", parse_output_type, "journald or stdout", log), output.type);
        set_if_valid(get_checked_string(*map, "syslog_identifier", syslog_identifier_problem, log),
                     output.syslog_identifier);
    }
    return output;
}

MetricsConfig read_metrics(const MapReader& top, ErrorLog& log) {
    MetricsConfig metrics;
    if (const std::optional<MapReader> map = get_map(top, "metrics", kMetricsKeys, log)) {
        set_if_valid(get_checked_string(*map, "textfile", metrics_file_problem, log), metrics.textfile);
        set_if_valid(get_duration(*map, "interval", 1s, 1h, log), metrics.interval);
    }
    return metrics;
}

LogLevel read_log_level(const MapReader& top, ErrorLog& log) {
    LogLevel level = LogLevel::info;
    if (const std::optional<MapReader> map = get_map(top, "log", kLogKeys, log))
        set_if_valid(get_choice(*map, "level", parse_log_level, "trace, debug, info, warn or error", log), level);
    return level;
}

// ---- the whole file ----------------------------------------------------------

Config read_config(const YAML::Node& root, ReadContext& ctx) {
    static const KeySet kDefaultsKeys = defaults_keys();
    const MapReader top(root, "", kTopKeys, ctx.log, top_level_hint);
    Defaults defaults;
    defaults.map = get_map(top, "defaults", kDefaultsKeys, ctx.log, defaults_hint);
    if (defaults.map) defaults.shared = read_shared(*defaults.map, ctx.log);
    std::vector<GroupDraft> drafts = read_groups(top, defaults, ctx);
    if (!drafts.empty()) check_unused_defaults(defaults, ctx.log);
    check_unique_names(drafts, ctx.log);
    assign_client_ids(drafts, ctx.env.host_name, ctx.log);
    Config config;
    for (GroupDraft& draft : drafts) config.groups.push_back(std::move(draft.config));
    config.output = read_output(top, ctx.log);
    config.metrics = read_metrics(top, ctx.log);
    config.log_level = read_log_level(top, ctx.log);
    return config;
}

Where where_at(const YAML::Mark& mark) {
    if (mark.is_null()) return {};
    return {mark.line + 1, mark.column + 1, {}};
}

// Where the root node of each document in a YAML stream starts.
class DocumentRoots : public YAML::EventHandler {
public:
    std::vector<YAML::Mark> marks;

    void OnDocumentStart(const YAML::Mark&) override { waiting_for_root_ = true; }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
    void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
    void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t, const std::string&) override {
        node(mark);
    }
    void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {
        node(mark);
    }
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
        node(mark);
    }
    void OnMapEnd() override {}

private:
    void node(const YAML::Mark& mark) {
        if (waiting_for_root_) marks.push_back(mark);
        waiting_for_root_ = false;
    }
    bool waiting_for_root_ = false;
};

// The file's one document, or nullopt once the reason is recorded.
//
// Not YAML::LoadAll(): in yaml-cpp 0.7 it never returns, allocating without
// bound, once a document starts with a stray ',' (jbeder/yaml-cpp#1040, fixed
// after 0.8): the parser emits an empty document without consuming the token,
// again and again. So the first document comes from Load(), and a walk of at
// most three documents finds a second one, or a parser that no longer moves.
std::optional<YAML::Node> parse_document(const std::string& text, ErrorLog& log) {
    YAML::Node root;
    DocumentRoots roots;
    try {
        root = YAML::Load(text);
        std::istringstream stream(text);
        YAML::Parser parser(stream);
        for (int document = 0; document < 3 && parser.HandleNextDocument(roots); ++document) {}
    } catch (const YAML::Exception& error) {
        log.add(where_at(error.mark), "YAML syntax error: " + error.msg);
        return std::nullopt;
    }
    for (std::size_t i = 1; i < roots.marks.size(); ++i) {
        const YAML::Mark& stuck = roots.marks[i];
        if (stuck.pos != roots.marks[i - 1].pos) continue;
        const auto at = static_cast<std::size_t>(stuck.pos);
        log.add(where_at(stuck), "YAML syntax error: unexpected " +
                                     (at < text.size() ? quoted(text.substr(at, 1)) : std::string("end of file")));
        return std::nullopt;
    }
    if (!root || root.IsNull()) {
        log.add({}, "the file is empty; it needs at least a consumer_groups: list");
        return std::nullopt;
    }
    if (roots.marks.size() > 1)
        log.add(where_at(roots.marks[1]),
                "a second YAML document starts here (after ---); keep the whole configuration in one document");
    if (!root.IsMap()) {
        log.add(where_of(root, {}),
                "expected a map with consumer_groups: (and optionally defaults:, output:, metrics:, log:), got " +
                    describe(root));
        return std::nullopt;
    }
    return root;
}

std::string octal_mode(mode_t mode) {
    std::array<char, 8> digits{};
    const auto result = std::to_chars(digits.data(), digits.data() + digits.size(), mode & 07777U, 8);
    const std::string text(digits.data(), result.ptr);
    return std::string(text.size() < 4 ? 4 - text.size() : 0, '0') + text;
}

std::string world_readable_warning(const std::string& path, mode_t mode, const std::string& key) {
    return path + " holds an inline " + key + " and every user on this machine can read it (mode " + octal_mode(mode) +
           "): run chmod 0640 " + path + " (owner root, group iot-amqpd), or move the secret into " + key + "_file";
}

std::string plaintext_warning(const GroupConfig& group) {
    return "consumer group \"" + group.name + "\" connects without TLS (" + group.endpoint +
           "): its password and messages cross the network unencrypted";
}

}  // namespace

// ---- public interface --------------------------------------------------------

LoadResult load_config(const std::string& path, const LoadEnvironment& env) {
    constexpr std::size_t kLargestConfig = std::size_t{1024} * 1024;
    ErrorLog log(path);
    std::optional<YAML::Node> root;
    mode_t mode = 0;
    {
        const FileText file = read_file(path, "the config file", kLargestConfig);
        if (!file.problem.empty())
            log.add({}, file.problem);
        else
            root = parse_document(file.text, log);
        mode = file.mode;
    }  // the file's bytes, perhaps with an inline secret, are wiped here

    ReadContext ctx{log, env, {}, {}, {}};
    Config config;
    if (root) config = read_config(*root, ctx);
    config.path = path;

    LoadResult result;
    if (!ctx.inline_secret_key.empty() && (mode & S_IROTH) != 0)
        result.warnings.push_back(world_readable_warning(path, mode, ctx.inline_secret_key));
    for (const GroupConfig& group : config.groups)
        if (group.plaintext) result.warnings.push_back(plaintext_warning(group));
    result.errors = log.take();
    if (result.errors.empty()) result.config = std::make_shared<const Config>(std::move(config));
    return result;
}

std::string ConfigError::to_string() const {
    std::string text = file;
    if (line > 0) text += ":" + std::to_string(line) + ":" + std::to_string(column);
    text += ": ";
    if (!key_path.empty()) text += key_path + ": ";
    return text + reason;
}

bool GroupConfig::same_settings(const GroupConfig& other) const {
    return written == other.written && client_ids == other.client_ids;
}

const GroupConfig* Config::find_group(const std::string& name) const {
    for (const GroupConfig& group : groups)
        if (group.name == name) return &group;
    return nullptr;
}

LoadEnvironment LoadEnvironment::from_process() {
    LoadEnvironment env;
    std::array<char, HOST_NAME_MAX + 1> name{};
    if (::gethostname(name.data(), name.size() - 1) == 0) env.host_name = name.data();
    // Read once at start-up and on reload, from the main thread; nothing sets the environment later.
    if (const char* directory = std::getenv("CREDENTIALS_DIRECTORY"))  // NOLINT(concurrency-mt-unsafe)
        env.credentials_directory = directory;
    return env;
}

std::string_view to_string(LogLevel level) {
    switch (level) {
        case LogLevel::trace: return "trace";
        case LogLevel::debug: return "debug";
        case LogLevel::info: return "info";
        case LogLevel::warn: return "warn";
        case LogLevel::error: return "error";
    }
    return "unknown";
}

std::optional<LogLevel> parse_log_level(std::string_view text) {
    for (LogLevel level : {LogLevel::trace, LogLevel::debug, LogLevel::info, LogLevel::warn, LogLevel::error})
        if (iequals(text, to_string(level))) return level;
    return std::nullopt;
}

}  // namespace iot
