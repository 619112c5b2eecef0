// The generic half of the config loader (DESIGN.md §4): positions, the error
// log, the key walker, typed getters and secret sources. It knows no key of
// its own; config.cpp (the schema shared by every group) and each cloud
// profile (its own keys, src/clouds/) read their maps with it, so every key
// gets the same `file:line:col` errors, unknown-key suggestions and secret
// handling.
//
// Thread: used only inside load_config(), which has no shared state.
#pragma once

#include <yaml-cpp/yaml.h>

#include <sys/types.h>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "iot-amqpd/config.hpp"
#include "iot-amqpd/duration.hpp"
#include "iot-amqpd/secret.hpp"

namespace iot::cfg {

using KeySet = std::vector<std::string_view>;

// ---- text helpers ------------------------------------------------------------

[[nodiscard]] bool iequals(std::string_view a, std::string_view b);
[[nodiscard]] bool contains(const KeySet& keys, std::string_view key);
[[nodiscard]] bool starts_with(std::string_view text, std::string_view prefix);
// A value as the operator wrote it, cut short so a pasted blob stays readable.
[[nodiscard]] std::string quoted(std::string_view text);
[[nodiscard]] std::string describe(const YAML::Node& node);
[[nodiscard]] std::string errno_text(int error);

// ---- positions and the error log ---------------------------------------------

// Where a value was written: 1-based line and column (0 = nowhere) and its key path.
struct Where {
    int line = 0;
    int column = 0;
    std::string path;
};

[[nodiscard]] Where where_of(const YAML::Node& node, std::string path);
[[nodiscard]] Where with_path(const Where& where, std::string path);
[[nodiscard]] bool in_defaults(const Where& where);

// Collects every problem so the operator sees all of them in one run.
class ErrorLog {
public:
    explicit ErrorLog(std::string file) : file_(std::move(file)) {}

    void add(const Where& where, std::string reason) {
        errors_.push_back({file_, where.line, where.column, where.path, std::move(reason)});
    }
    // A secret that must never appear in an error, even if the operator pasted
    // it under the wrong key and a message quotes that key's value.
    void hide(std::shared_ptr<const Secret> secret) { hidden_.push_back(std::move(secret)); }
    [[nodiscard]] std::size_t size() const { return errors_.size(); }

    // In file order; a problem shared by several groups (it sits in defaults:) once.
    [[nodiscard]] std::vector<ConfigError> take();

private:
    void scrub(std::string& text) const;

    std::string file_;
    std::vector<ConfigError> errors_;
    std::vector<std::shared_ptr<const Secret>> hidden_;
};

// ---- files -------------------------------------------------------------------

// A whole file's bytes; wiped on destruction because it may hold a secret.
struct FileText {
    std::string text;
    mode_t mode = 0;
    std::string problem;

    FileText() = default;
    FileText(FileText&&) = default;
    FileText& operator=(FileText&&) = delete;
    FileText(const FileText&) = delete;
    FileText& operator=(const FileText&) = delete;
    ~FileText();
};

// Reads at most `limit` bytes into a buffer sized once, so no reallocation
// leaves an unwiped copy of a secret behind; `what` names the file in problems.
[[nodiscard]] FileText read_file(const std::string& path, const std::string& what, std::size_t limit);

// ---- the key walker ----------------------------------------------------------

// Extra advice for an unknown key in one particular map; empty when none.
using Hint = std::function<std::string(std::string_view key)>;

// One YAML map with a fixed set of keys. Walking it records unknown, duplicate
// and non-scalar keys; the values of known keys are handed out by find().
class MapReader {
public:
    struct Entry {
        YAML::Node key;
        YAML::Node value;
        std::string path;
    };

    MapReader(const YAML::Node& map, std::string path, const KeySet& known, ErrorLog& log, const Hint& hint = {});

    [[nodiscard]] const Entry* find(std::string_view key) const;
    [[nodiscard]] const std::vector<Entry>& entries() const { return entries_; }
    [[nodiscard]] const Where& where() const { return where_; }
    [[nodiscard]] const std::string& path() const { return path_; }
    [[nodiscard]] std::string path_of(std::string_view key) const {
        return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
    }

private:
    void take(const YAML::Node& key, const YAML::Node& value, const KeySet& known, ErrorLog& log, const Hint& hint);

    std::string path_;
    Where where_;
    std::vector<Entry> entries_;
};

// A problem with a value is reported at the value; an empty value at its key,
// because yaml-cpp places an empty value at the next token (often the next line).
[[nodiscard]] Where value_where(const MapReader::Entry& entry);

// ---- typed getters -----------------------------------------------------------

enum class FieldState { absent, invalid, valid };

// One setting as read from one map: not written, written but rejected (the
// error is already recorded), or a valid value and where it was written.
template <class T>
struct Field {
    FieldState state = FieldState::absent;
    T value{};
    Where where;
    std::string text;  // the scalar as written, for messages ("2m", not "120s")

    [[nodiscard]] bool absent() const { return state == FieldState::absent; }
    [[nodiscard]] bool invalid() const { return state == FieldState::invalid; }
    [[nodiscard]] bool valid() const { return state == FieldState::valid; }
};

template <class T>
Field<T> valid_field(T value, Where where, std::string text = {}) {
    return {FieldState::valid, std::move(value), std::move(where), std::move(text)};
}

template <class T>
Field<T> invalid_field(Where where) {
    return {FieldState::invalid, T{}, std::move(where), {}};
}

// A field of another type in the same not-valid state, at the same place.
template <class T, class U>
Field<T> same_state(const Field<U>& field) {
    return {field.state, T{}, field.where, {}};
}

template <class T>
Field<T> rejected(ErrorLog& log, Where where, std::string reason) {
    log.add(where, std::move(reason));
    return invalid_field<T>(std::move(where));
}

// Strings: an empty value (`key:`) reads as "".
[[nodiscard]] Field<std::string> get_string(const MapReader& map, std::string_view key, ErrorLog& log);

using TextCheck = std::string (*)(std::string_view text);  // the problem with `text`, empty when fine
[[nodiscard]] Field<std::string> get_checked_string(const MapReader& map, std::string_view key, TextCheck check,
                                                    ErrorLog& log);

[[nodiscard]] Field<std::int64_t> get_integer(const MapReader& map, std::string_view key, std::int64_t min,
                                              std::int64_t max, ErrorLog& log);
[[nodiscard]] Field<double> get_number(const MapReader& map, std::string_view key, double min, double max,
                                       ErrorLog& log);
[[nodiscard]] Field<Millis> get_duration(const MapReader& map, std::string_view key, Millis min, Millis max,
                                         ErrorLog& log);
// Bytes, written with a unit ("8MiB"); see byte_size.hpp.
[[nodiscard]] Field<std::int64_t> get_byte_size(const MapReader& map, std::string_view key, std::int64_t min,
                                                std::int64_t max, ErrorLog& log);
[[nodiscard]] std::optional<std::int64_t> parse_integer(std::string_view text);

// One of a few words; `expected` lists them for the error ("aksign or ststoken").
template <class T>
Field<T> get_choice(const MapReader& map, std::string_view key, std::optional<T> (*parse)(std::string_view),
                    std::string_view expected, ErrorLog& log) {
    const MapReader::Entry* entry = map.find(key);
    if (entry == nullptr) return {};
    Where where = value_where(*entry);
    const std::optional<T> value = entry->value.IsScalar() ? parse(entry->value.Scalar()) : std::nullopt;
    if (!value)
        return rejected<T>(log, std::move(where),
                           "expected " + std::string(expected) + ", got " + describe(entry->value));
    return valid_field(*value, std::move(where));
}

[[nodiscard]] std::optional<bool> parse_bool(std::string_view text);

// A nested map (reconnect:, tls:, output: ...); an empty value reads as an empty map.
[[nodiscard]] std::optional<MapReader> get_map(const MapReader& parent, std::string_view key, const KeySet& known,
                                               ErrorLog& log, const Hint& hint = {});

// ---- value checks (each returns the problem, empty when fine) ----------------

// '|', ',' and '=' separate the fields of a structured SASL user name, which cannot escape them.
[[nodiscard]] std::string forbidden_separator(std::string_view text);
[[nodiscard]] std::string readable_file_problem(std::string_view path);
[[nodiscard]] std::string credential_name_problem(std::string_view name);

// ---- what the loader carries from map to map ---------------------------------

struct ReadContext {
    ErrorLog& log;
    const LoadEnvironment& env;
    std::string inline_secret_key;  // some map holds this inline secret key (for the world-readable warning)
    // What a reload compares besides the text of each key: the content digest
    // (content_digest(), never the text) of each secret or file a key names,
    // by the key's path; an inline secret's text is replaced by its digest.
    struct ContentDigest {
        std::string digest;
        bool replaces_text = false;  // an inline secret: its text is never kept
    };
    std::map<std::string, ContentDigest> content_digests;
    // Each secret key's family (its inline key): a group that sets one of
    // them replaces all of defaults:', as the merge does.
    std::map<std::string, std::string, std::less<>> secret_family;
};

// ---- secrets: exactly one source per map -------------------------------------

// The three keys that can hold one secret, e.g. {"access_code", "access_code_file",
// "access_code_credential", "the access code"}.
struct SecretKeys {
    std::string_view inline_key;
    std::string_view file_key;
    std::string_view credential_key;
    std::string_view what;  // for messages: "the AccessKey secret"
};

struct SecretSetting {
    SecretSource source = SecretSource::inline_value;
    std::string path;  // file path or credential name
    std::shared_ptr<const Secret> value;
};

[[nodiscard]] Field<SecretSetting> read_secret(const MapReader& map, const SecretKeys& keys, ReadContext& ctx);

// ---- merging one group's map over defaults: -----------------------------------

template <class T>
const Field<T>& pick(const Field<T>& own, const Field<T>& inherited) {
    return own.absent() ? inherited : own;
}

template <class T, class Out>
void set_if_valid(const Field<T>& field, Out& out) {
    if (field.valid()) out = static_cast<Out>(field.value);
}

template <class T, class Out>
void apply(const Field<T>& own, const Field<T>& inherited, Out& out) {
    set_if_valid(pick(own, inherited), out);
}

// Names the group when a value written under defaults: is wrong only together
// with something this group sets; a problem of defaults: alone is reported once.
[[nodiscard]] std::string for_group(const Where& reported, bool group_involved, const std::string& label);

// The group being built, as a profile sees it: where its map is (for
// "missing:" errors) and how to name it in an error found under defaults:.
struct GroupFrame {
    Where where;        // the group's map
    std::string label;  // "\"factory-a\"", or the map's path when the name is not valid
    void missing(ErrorLog& log, std::string_view key, const std::string& why) const {
        log.add(with_path(where, where.path + "." + std::string(key)), "missing: " + why);
    }
    // No source for the secret `keys` name, in the group nor under defaults:.
    void missing_secret(ErrorLog& log, const SecretKeys& keys) const;
};

}  // namespace iot::cfg
