// The YAML loader (DESIGN.md §4). It never stops at the first problem: every
// map is walked by a MapReader that records unknown keys, typed getters record
// type and range errors, and the cross-key checks run on the merged group.
// Settings are read once per map (defaults: or one group), so a bad default is
// reported once, at the line where it is written, not once per group.
//
// Thread: load_config() has no shared state; call it from any one thread.
#include "iot-amqpd/config.hpp"

#include "iot-amqpd/encoding.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
#include <system_error>
#include <tuple>
#include <utility>

namespace iot {
namespace {

using namespace std::chrono_literals;
using KeySet = std::vector<std::string_view>;

// ---- text helpers ------------------------------------------------------------

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

bool contains(const KeySet& keys, std::string_view key) {
    return std::find(keys.begin(), keys.end(), key) != keys.end();
}

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

// A value as the operator wrote it, cut short so a pasted blob stays readable.
std::string quoted(std::string_view text) {
    constexpr std::size_t kShown = 60;
    std::string out = "\"";
    out += text.substr(0, kShown);
    if (text.size() > kShown) out += "...";
    out += '"';
    return out;
}

std::string describe(const YAML::Node& node) {
    switch (node.Type()) {
        case YAML::NodeType::Scalar: return quoted(node.Scalar());
        case YAML::NodeType::Sequence: return "a list";
        case YAML::NodeType::Map: return "a map";
        default: return "nothing";
    }
}

std::string errno_text(int error) { return std::error_code(error, std::generic_category()).message(); }

std::string format_integer(std::int64_t value) { return std::to_string(value); }

std::string format_number(double value) {
    std::array<char, 32> buffer{};
    const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
    std::string text(buffer.data(), result.ptr);
    if (text.find_first_of(".e") == std::string::npos) text += ".0";
    return text;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j < row.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            row[j] = std::min({above + 1, row[j - 1] + 1, diagonal + cost});
            diagonal = above;
        }
    }
    return row[b.size()];
}

// ---- positions and the error log ---------------------------------------------

// Where a value was written: 1-based line and column (0 = nowhere) and its key path.
struct Where {
    int line = 0;
    int column = 0;
    std::string path;
};

Where where_of(const YAML::Node& node, std::string path) {
    const YAML::Mark mark = node.Mark();
    if (mark.is_null()) return {0, 0, std::move(path)};
    return {mark.line + 1, mark.column + 1, std::move(path)};
}

Where with_path(const Where& where, std::string path) { return {where.line, where.column, std::move(path)}; }

bool in_defaults(const Where& where) { return starts_with(where.path, "defaults."); }

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

    // In file order; a problem shared by several groups (it sits in defaults:) once.
    std::vector<ConfigError> take() {
        std::stable_sort(errors_.begin(), errors_.end(), [](const ConfigError& a, const ConfigError& b) {
            return std::tie(a.line, a.column) < std::tie(b.line, b.column);
        });
        std::vector<ConfigError> unique;
        std::set<std::string> seen;
        for (ConfigError& error : errors_) {
            scrub(error.reason);
            scrub(error.key_path);
            if (seen.insert(error.to_string()).second) unique.push_back(std::move(error));
        }
        errors_.clear();
        return unique;
    }

private:
    void scrub(std::string& text) const {
        constexpr std::size_t kShortest = 6;  // shorter "secrets" would blank out ordinary words
        for (const auto& secret : hidden_) {
            const std::string_view value = secret->reveal();
            if (value.size() < kShortest) continue;
            for (auto at = text.find(value); at != std::string::npos; at = text.find(value, at))
                text.replace(at, value.size(), "(secret hidden)");
        }
    }

    std::string file_;
    std::vector<ConfigError> errors_;
    std::vector<std::shared_ptr<const Secret>> hidden_;
};

// ---- files -------------------------------------------------------------------

// An open file descriptor, closed on scope exit; remembers why open() failed.
// O_NONBLOCK: a FIFO named by mistake must not hang start-up or reload.
class FileHandle {
public:
    explicit FileHandle(const std::string& path) : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)) {
        if (fd_ < 0) {
            error_ = errno;
            return;
        }
        struct stat info {};
        if (::fstat(fd_, &info) != 0) {
            error_ = errno;
            return;
        }
        mode_ = info.st_mode;
    }
    ~FileHandle() {
        if (fd_ >= 0) ::close(fd_);
    }
    FileHandle(const FileHandle&) = delete;
    FileHandle& operator=(const FileHandle&) = delete;

    [[nodiscard]] int fd() const { return fd_; }
    [[nodiscard]] int error() const { return error_; }
    [[nodiscard]] mode_t mode() const { return mode_; }

private:
    int fd_;
    int error_ = 0;
    mode_t mode_ = 0;
};

std::string access_hint(int error) {
    if (error != EACCES) return {};
    return " (the daemon runs as user iot-amqpd: make the file readable by it, e.g. chgrp iot-amqpd FILE and "
           "chmod 0640 FILE)";
}

// Why `file` cannot be read, calling it `what`; empty when it can.
std::string file_problem(const FileHandle& file, const std::string& what) {
    if (file.error() != 0) return "cannot read " + what + ": " + errno_text(file.error()) + access_hint(file.error());
    if (S_ISDIR(file.mode())) return what + " is a directory, not a file";
    return {};
}

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
    ~FileText() { OPENSSL_cleanse(text.data(), text.capacity()); }
};

// Reads at most `limit` bytes into a buffer sized once, so no reallocation
// leaves an unwiped copy of a secret behind.
FileText read_file(const std::string& path, const std::string& what, std::size_t limit) {
    FileText file;
    const FileHandle handle(path);
    file.problem = file_problem(handle, what);
    if (!file.problem.empty()) return file;
    file.mode = handle.mode();
    file.text.resize(limit + 1);
    std::size_t used = 0;
    while (used < file.text.size()) {
        const ssize_t got = ::read(handle.fd(), file.text.data() + used, file.text.size() - used);
        if (got == 0) break;
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            file.problem = "cannot read " + what + ": " + errno_text(errno);
            return file;
        }
        used += static_cast<std::size_t>(got);
    }
    if (used > limit)
        file.problem = what + " is larger than " + std::to_string(limit / 1024) + " KiB; is it the right file?";
    file.text.resize(std::min(used, limit));
    return file;
}

// ---- the key walker ----------------------------------------------------------

// Extra advice for an unknown key in one particular map; empty when none.
using Hint = std::string (*)(std::string_view key);

std::string unknown_key_reason(std::string_view key, const KeySet& known, Hint hint) {
    std::string advice = hint != nullptr ? hint(key) : std::string();
    if (advice.empty() && key == "<<")
        advice = "YAML merge keys are not supported; put shared settings under defaults:";
    if (advice.empty()) {
        std::size_t best = 3;  // suggest only close misspellings
        for (std::string_view candidate : known) {
            const std::size_t distance = iequals(key, candidate) ? 0 : edit_distance(key, candidate);
            if (distance < best) {
                best = distance;
                advice = "did you mean \"" + std::string(candidate) + "\"?";
            }
        }
    }
    return advice.empty() ? "unknown key" : "unknown key (" + advice + ")";
}

// One YAML map with a fixed set of keys. Walking it records unknown, duplicate
// and non-scalar keys; the values of known keys are handed out by find().
class MapReader {
public:
    struct Entry {
        YAML::Node key;
        YAML::Node value;
        std::string path;
    };

    MapReader(const YAML::Node& map, std::string path, const KeySet& known, ErrorLog& log, Hint hint = nullptr)
        : path_(std::move(path)), where_(where_of(map, path_)) {
        if (!map.IsMap()) return;
        for (auto it = map.begin(); it != map.end(); ++it) take(it->first, it->second, known, log, hint);
    }

    [[nodiscard]] const Entry* find(std::string_view key) const {
        for (const Entry& entry : entries_)
            if (entry.key.Scalar() == key) return &entry;
        return nullptr;
    }
    [[nodiscard]] const Where& where() const { return where_; }
    [[nodiscard]] std::string path_of(std::string_view key) const {
        return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
    }

private:
    void take(const YAML::Node& key, const YAML::Node& value, const KeySet& known, ErrorLog& log, Hint hint) {
        if (!key.IsScalar()) {
            log.add(where_of(key, path_), "a key must be a plain name, got " + describe(key));
            return;
        }
        std::string path = path_of(key.Scalar());
        if (!contains(known, key.Scalar())) {
            log.add(where_of(key, path), unknown_key_reason(key.Scalar(), known, hint));
        } else if (const Entry* first = find(key.Scalar())) {
            log.add(where_of(key, path),
                    "set twice (first on line " + std::to_string(first->key.Mark().line + 1) + "); delete one of them");
        } else {
            entries_.push_back({key, value, std::move(path)});
        }
    }

    std::string path_;
    Where where_;
    std::vector<Entry> entries_;
};

// A problem with a value is reported at the value; an empty value at its key,
// because yaml-cpp places an empty value at the next token (often the next line).
Where value_where(const MapReader::Entry& entry) {
    return where_of(entry.value.IsNull() ? entry.key : entry.value, entry.path);
}

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
Field<std::string> get_string(const MapReader& map, std::string_view key, ErrorLog& log) {
    const MapReader::Entry* entry = map.find(key);
    if (entry == nullptr) return {};
    Where where = value_where(*entry);
    if (entry->value.IsNull()) return valid_field(std::string(), std::move(where));
    if (!entry->value.IsScalar())
        return rejected<std::string>(log, std::move(where), "expected a string, got " + describe(entry->value));
    // Values reach journal fields, JSON lines and the cloud's user name: text only.
    if (!is_valid_utf8(entry->value.Scalar()))
        return rejected<std::string>(log, std::move(where), "the value is not valid UTF-8 text");
    return valid_field(entry->value.Scalar(), std::move(where));
}

using TextCheck = std::string (*)(std::string_view text);  // the problem with `text`, empty when fine

Field<std::string> get_checked_string(const MapReader& map, std::string_view key, TextCheck check, ErrorLog& log) {
    Field<std::string> field = get_string(map, key, log);
    if (!field.valid()) return field;
    std::string problem = check(field.value);
    if (problem.empty()) return field;
    return rejected<std::string>(log, field.where, std::move(problem));
}

// A scalar with a parser and a range: integers, numbers, durations.
template <class T>
struct ScalarKind {
    std::string_view expected;                    // "an integer"
    std::optional<T> (*parse)(std::string_view);  // nullopt: not one
    std::string (*not_one)(std::string_view);     // why the text is not one
    std::string (*format)(T);                     // how limits are printed
};

template <class T>
Field<T> get_ranged(const MapReader& map, std::string_view key, const ScalarKind<T>& kind, T min, T max,
                    ErrorLog& log) {
    const MapReader::Entry* entry = map.find(key);
    if (entry == nullptr) return {};
    Where where = value_where(*entry);
    if (!entry->value.IsScalar())
        return rejected<T>(log, std::move(where),
                           "expected " + std::string(kind.expected) + ", got " + describe(entry->value));
    const std::string& text = entry->value.Scalar();
    const std::optional<T> value = kind.parse(text);
    if (!value) return rejected<T>(log, std::move(where), kind.not_one(text));
    if (*value < min) return rejected<T>(log, std::move(where), text + " is below the minimum " + kind.format(min));
    if (max < *value) return rejected<T>(log, std::move(where), text + " is above the maximum " + kind.format(max));
    return valid_field(*value, std::move(where), text);
}

std::optional<std::int64_t> parse_integer(std::string_view text) {
    std::int64_t value = 0;
    const char* end = text.data() + text.size();
    const auto result = std::from_chars(text.data(), end, value);
    if (result.ec != std::errc() || result.ptr != end) return std::nullopt;
    return value;
}

std::string not_an_integer(std::string_view text) {
    const std::string_view digits = starts_with(text, "-") ? text.substr(1) : text;
    const bool all_digits = !digits.empty() && digits.find_first_not_of("0123456789") == std::string_view::npos;
    return all_digits ? std::string(text) + " is far out of range" : "expected an integer, got " + quoted(text);
}

std::optional<double> parse_number(std::string_view text) {
    double value = 0;
    const char* end = text.data() + text.size();
    const auto result = std::from_chars(text.data(), end, value);
    if (result.ec != std::errc() || result.ptr != end || !std::isfinite(value)) return std::nullopt;
    return value;
}

std::string not_a_number(std::string_view text) { return "expected a number such as 2.0, got " + quoted(text); }

std::string not_a_duration(std::string_view text) {
    std::string reason = "expected a duration such as 60s or 1500ms (units: ms, s, m, h), got " + quoted(text);
    const std::size_t digits = std::min(text.find_first_not_of("0123456789"), text.size());
    const std::string_view unit = text.substr(digits);
    if (digits > 0 && unit.empty()) return reason + "; add a unit, e.g. " + std::string(text) + "s";
    if (starts_with(text, "-")) return reason + "; a duration cannot be negative";
    if (text.find('.') != std::string_view::npos) return reason + "; use whole numbers, e.g. 1500ms instead of 1.5s";
    const bool known_unit = unit == "ms" || unit == "s" || unit == "m" || unit == "h";
    if (digits > 0 && known_unit) return quoted(text) + " is far out of range";  // parse_duration overflowed
    return reason;
}

const ScalarKind<std::int64_t> kInteger{"an integer", parse_integer, not_an_integer, format_integer};
const ScalarKind<double> kNumber{"a number", parse_number, not_a_number, format_number};
const ScalarKind<Millis> kDuration{"a duration", parse_duration, not_a_duration, format_duration};

Field<std::int64_t> get_integer(const MapReader& map, std::string_view key, std::int64_t min, std::int64_t max,
                                ErrorLog& log) {
    return get_ranged(map, key, kInteger, min, max, log);
}

Field<double> get_number(const MapReader& map, std::string_view key, double min, double max, ErrorLog& log) {
    return get_ranged(map, key, kNumber, min, max, log);
}

Field<Millis> get_duration(const MapReader& map, std::string_view key, Millis min, Millis max, ErrorLog& log) {
    return get_ranged(map, key, kDuration, min, max, log);
}

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

std::optional<bool> parse_bool(std::string_view text) {
    for (std::string_view yes : {"true", "yes", "on"})
        if (iequals(text, yes)) return true;
    for (std::string_view no : {"false", "no", "off"})
        if (iequals(text, no)) return false;
    return std::nullopt;
}

std::optional<OutputType> parse_output_type(std::string_view text) {
    if (iequals(text, "journald")) return OutputType::journald;
    if (iequals(text, "stdout")) return OutputType::stdout_jsonl;
    return std::nullopt;
}

// A nested map (reconnect:, tls:, output: ...); an empty value reads as an empty map.
std::optional<MapReader> get_map(const MapReader& parent, std::string_view key, const KeySet& known, ErrorLog& log,
                                 Hint hint = nullptr) {
    const MapReader::Entry* entry = parent.find(key);
    if (entry == nullptr) return std::nullopt;
    if (!entry->value.IsMap() && !entry->value.IsNull()) {
        log.add(value_where(*entry),
                "expected a map of settings (indented key: value lines), got " + describe(entry->value));
        return std::nullopt;
    }
    return MapReader(entry->value, entry->path, known, log, hint);
}

// ---- value checks (each returns the problem, empty when fine) ----------------

std::string forbidden_separator(std::string_view text) {
    const std::size_t at = text.find_first_of("|,=");
    if (at == std::string_view::npos) return {};
    return std::string("must not contain '") + text[at] +
           "': the cloud's user name uses '|', ',' and '=' as separators and cannot escape them";
}

// consumer_group_id, access_key_id: never quoted back, an ID is half a credential.
std::string cloud_id_problem(std::string_view id) {
    if (id.empty()) return "must not be empty";
    return forbidden_separator(id);
}

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

std::string readable_file_problem(std::string_view path) {
    if (path.empty()) return {};  // not set
    const std::string name(path);
    return file_problem(FileHandle(name), name);
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

std::string credential_name_problem(std::string_view name) {
    if (name.empty()) return "must not be empty: give the name used in the unit's LoadCredential=NAME:...";
    if (name == "." || name == ".." || name.find('/') != std::string_view::npos)
        return "must be a credential name (as in LoadCredential=NAME:...), not a path";
    return {};
}

// ---- endpoint ----------------------------------------------------------------

struct Endpoint {
    std::string text;
    std::string host;
    std::uint16_t port = 5671;
};

constexpr std::string_view kEndpointExample = "amqps://iot-06z00abcdef.amqp.iothub.aliyuncs.com:5671";

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
        if (host.empty())
            return "has no host name; expected amqps://host[:port], e.g. " + std::string(kEndpointExample);
        if (!std::all_of(host.begin(), host.end(), is_host_char))
            return "the host name " + quoted(host) + " contains characters a host name cannot have";
    }
    out.host = std::string(host);
    return port ? parse_port(*port, out) : std::string();
}

std::string endpoint_problem(std::string_view text, Endpoint& out) {
    const std::size_t scheme_end = text.find("://");
    if (scheme_end == std::string_view::npos)
        return "expected amqps://host[:port], e.g. " + std::string(kEndpointExample) + ", got " + quoted(text);
    const std::string_view scheme = text.substr(0, scheme_end);
    if (iequals(scheme, "amqp"))
        return "plain amqp:// is not allowed: the cloud requires TLS, use amqps:// (port 5671)";
    if (!iequals(scheme, "amqps")) return "unsupported scheme " + quoted(scheme) + "; use amqps://host[:port]";
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

// ---- the per-group settings of one map ---------------------------------------

const KeySet kPerGroupKeys{"endpoint",
                           "access_key_id",
                           "access_key_secret",
                           "access_key_secret_file",
                           "access_key_secret_credential",
                           "auth_mode",
                           "security_token_file",
                           "sign_method",
                           "iot_instance_id",
                           "client_id",
                           "connections",
                           "heartbeat",
                           "credit",
                           "reconnect",
                           "tls",
                           "dedup_window"};
const KeySet kGroupOnlyKeys{"name", "consumer_group_id"};
const KeySet kSecretKeys{"access_key_secret", "access_key_secret_file", "access_key_secret_credential"};
const KeySet kReconnectKeys{"initial_delay", "max_delay", "multiplier", "jitter"};
const KeySet kTlsKeys{"ca_file", "verify_hostname"};
const KeySet kTopKeys{"defaults", "consumer_groups", "output", "metrics", "log"};
const KeySet kOutputKeys{"type", "syslog_identifier"};
const KeySet kMetricsKeys{"textfile", "interval"};
const KeySet kLogKeys{"level"};

KeySet group_keys() {
    KeySet keys = kGroupOnlyKeys;
    keys.insert(keys.end(), kPerGroupKeys.begin(), kPerGroupKeys.end());
    return keys;
}

}  // namespace

std::vector<std::string> accepted_config_keys() {
    std::vector<std::string> keys;
    auto add = [&keys](std::string_view prefix, const KeySet& set) {
        for (const auto key : set) keys.push_back(std::string(prefix) + std::string(key));
    };
    add("", kTopKeys);
    add("consumer_groups.", kGroupOnlyKeys);
    add("defaults.", kPerGroupKeys);
    add("defaults.reconnect.", kReconnectKeys);
    add("defaults.tls.", kTlsKeys);
    add("output.", kOutputKeys);
    add("metrics.", kMetricsKeys);
    add("log.", kLogKeys);
    return keys;
}

namespace {

std::string top_level_hint(std::string_view key) {
    if (contains(kPerGroupKeys, key) || contains(kGroupOnlyKeys, key))
        return std::string(key) + " is a per-group setting: put it under defaults: or inside a consumer group";
    return {};
}

std::string defaults_hint(std::string_view key) {
    if (contains(kGroupOnlyKeys, key))
        return std::string(key) + " differs per group: set it inside each consumer group, not under defaults";
    return {};
}

struct SecretSetting {
    SecretSource source = SecretSource::inline_value;
    std::string path;  // file path or credential name
    std::shared_ptr<const Secret> value;
};

// The per-group keys as written in one map: defaults: or one consumer group.
struct GroupLayer {
    Where where;  // the map itself
    Field<std::string> name;
    Field<std::string> consumer_group_id;
    Field<Endpoint> endpoint;
    Field<std::string> access_key_id;
    Field<SecretSetting> secret;
    Field<AuthMode> auth_mode;
    Field<std::string> security_token_file;
    Field<SignMethod> sign_method;
    Field<std::string> iot_instance_id;
    Field<std::string> client_id;
    Field<std::int64_t> connections;
    Field<Millis> heartbeat;
    Field<std::int64_t> credit;
    Field<Millis> initial_delay;
    Field<Millis> max_delay;
    Field<double> multiplier;
    Field<double> jitter;
    Field<std::string> ca_file;
    Field<bool> verify_hostname;
    Field<std::int64_t> dedup_window;
};

// What the loader carries from map to map.
struct Context {
    ErrorLog& log;
    const LoadEnvironment& env;
    bool inline_secret = false;  // some map holds access_key_secret: (for the world-readable warning)
};

// ---- the AccessKey secret: exactly one source per map ------------------------

Field<SecretSetting> secret_from(SecretSource source, std::string name, const std::string& file, Where where,
                                 Context& ctx) {
    SecretRead read = read_secret_file(file);
    if (!read.problem.empty()) {
        if (source == SecretSource::credential)
            read.problem += " (does the unit pass it with LoadCredential=" + name + ":...?)";
        return rejected<SecretSetting>(ctx.log, std::move(where), std::move(read.problem));
    }
    ctx.log.hide(read.secret);
    return valid_field(SecretSetting{source, std::move(name), std::move(read.secret)}, std::move(where));
}

Field<SecretSetting> inline_secret(const MapReader& map, Context& ctx) {
    ctx.inline_secret = true;
    Field<std::string> text = get_string(map, "access_key_secret", ctx.log);
    if (!text.valid()) return same_state<SecretSetting>(text);
    if (text.value.empty()) return rejected<SecretSetting>(ctx.log, text.where, "must not be empty");
    auto secret = std::make_shared<const Secret>(std::move(text.value));
    ctx.log.hide(secret);
    return valid_field(SecretSetting{SecretSource::inline_value, {}, std::move(secret)}, text.where);
}

Field<SecretSetting> file_secret(const MapReader& map, Context& ctx) {
    const Field<std::string> path = get_string(map, "access_key_secret_file", ctx.log);
    if (!path.valid()) return same_state<SecretSetting>(path);
    if (path.value.empty())
        return rejected<SecretSetting>(ctx.log, path.where,
                                       "must not be empty: give the path of the file that holds the AccessKey secret");
    return secret_from(SecretSource::file, path.value, path.value, path.where, ctx);
}

Field<SecretSetting> credential_secret(const MapReader& map, Context& ctx) {
    const Field<std::string> name =
        get_checked_string(map, "access_key_secret_credential", credential_name_problem, ctx.log);
    if (!name.valid()) return same_state<SecretSetting>(name);
    const std::string& directory = ctx.env.credentials_directory;
    if (directory.empty())
        return rejected<SecretSetting>(
            ctx.log, name.where,
            "$CREDENTIALS_DIRECTORY is not set, so there is no credential to read: start the daemon from its "
            "systemd unit with LoadCredential=" +
                name.value + ":/path/to/secret, or use access_key_secret_file");
    return secret_from(SecretSource::credential, name.value, directory + "/" + name.value, name.where, ctx);
}

Field<SecretSetting> conflicting_secrets(std::vector<const MapReader::Entry*> given, const MapReader& map,
                                         Context& ctx) {
    if (map.find("access_key_secret") != nullptr) inline_secret(map, ctx);  // still hidden and warned about
    std::sort(given.begin(), given.end(), [](const MapReader::Entry* a, const MapReader::Entry* b) {
        return a->key.Mark().pos < b->key.Mark().pos;
    });
    const MapReader::Entry& first = *given.front();
    for (std::size_t i = 1; i < given.size(); ++i)
        ctx.log.add(
            where_of(given[i]->key, given[i]->path),
            "only one AccessKey secret source is allowed, and " + first.key.Scalar() + " is already set on line " +
                std::to_string(first.key.Mark().line + 1) +
                "; keep just one of access_key_secret_file, access_key_secret_credential and access_key_secret");
    return invalid_field<SecretSetting>(map.where());
}

Field<SecretSetting> read_secret(const MapReader& map, Context& ctx) {
    std::vector<const MapReader::Entry*> given;
    for (std::string_view key : kSecretKeys)
        if (const MapReader::Entry* entry = map.find(key)) given.push_back(entry);
    if (given.empty()) return {};
    if (given.size() > 1) return conflicting_secrets(std::move(given), map, ctx);
    const std::string& key = given.front()->key.Scalar();
    if (key == "access_key_secret") return inline_secret(map, ctx);
    if (key == "access_key_secret_file") return file_secret(map, ctx);
    return credential_secret(map, ctx);
}

// ---- reading one map of per-group keys ---------------------------------------

void read_identity_and_auth(const MapReader& map, GroupLayer& layer, Context& ctx) {
    ErrorLog& log = ctx.log;
    layer.name = get_checked_string(map, "name", group_name_problem, log);
    layer.consumer_group_id = get_checked_string(map, "consumer_group_id", cloud_id_problem, log);
    layer.endpoint = get_endpoint(map, log);
    layer.access_key_id = get_checked_string(map, "access_key_id", cloud_id_problem, log);
    layer.secret = read_secret(map, ctx);
    layer.auth_mode = get_choice(map, "auth_mode", parse_auth_mode, "aksign or ststoken", log);
    layer.security_token_file = get_checked_string(map, "security_token_file", readable_file_problem, log);
    layer.sign_method = get_choice(map, "sign_method", parse_sign_method, "hmacmd5, hmacsha1 or hmacsha256", log);
    layer.iot_instance_id = get_checked_string(map, "iot_instance_id", forbidden_separator, log);
}

void read_connection(const MapReader& map, GroupLayer& layer, ErrorLog& log) {
    layer.client_id = get_checked_string(map, "client_id", client_id_pattern_problem, log);
    layer.connections = get_integer(map, "connections", 1, 64, log);
    layer.heartbeat = get_duration(map, "heartbeat", 30s, 300s, log);
    layer.credit = get_integer(map, "credit", 1, 10000, log);
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
    }
}

GroupLayer read_layer(const MapReader& map, Context& ctx) {
    GroupLayer layer;
    layer.where = map.where();
    read_identity_and_auth(map, layer, ctx);
    read_connection(map, layer, ctx.log);
    return layer;
}

// ---- one group: defaults merged key by key, then the cross-key checks --------

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

void merge_auth(GroupConfig& group, const GroupLayer& own, const GroupLayer& inherited) {
    set_if_valid(own.name, group.name);
    set_if_valid(own.consumer_group_id, group.consumer_group_id);
    if (const Field<Endpoint>& endpoint = pick(own.endpoint, inherited.endpoint); endpoint.valid()) {
        group.endpoint = endpoint.value.text;
        group.host = endpoint.value.host;
        group.port = endpoint.value.port;
    }
    apply(own.access_key_id, inherited.access_key_id, group.access_key_id);
    if (const Field<SecretSetting>& secret = pick(own.secret, inherited.secret); secret.valid()) {
        group.secret_source = secret.value.source;
        group.secret_path = secret.value.path;
        group.access_key_secret = secret.value.value;
        if (group.access_key_secret) group.secret_digest = content_digest(group.access_key_secret->reveal());
    }
    apply(own.auth_mode, inherited.auth_mode, group.auth_mode);
    apply(own.security_token_file, inherited.security_token_file, group.security_token_file);
    // The token is read again before every attempt; its digest makes a reload
    // after it changed restart the group, so the new token is used at once.
    if (group.auth_mode == AuthMode::ststoken && !group.security_token_file.empty()) {
        const SecretRead token = read_secret_file(group.security_token_file, "the STS security token");
        if (token.secret) group.security_token_digest = content_digest(token.secret->reveal());
    }
    apply(own.sign_method, inherited.sign_method, group.sign_method);
    apply(own.iot_instance_id, inherited.iot_instance_id, group.iot_instance_id);
}

void merge_connection(GroupConfig& group, const GroupLayer& own, const GroupLayer& inherited) {
    apply(own.client_id, inherited.client_id, group.client_id_pattern);
    apply(own.connections, inherited.connections, group.connections);
    apply(own.heartbeat, inherited.heartbeat, group.heartbeat);
    apply(own.credit, inherited.credit, group.credit);
    apply(own.initial_delay, inherited.initial_delay, group.reconnect.initial_delay);
    apply(own.max_delay, inherited.max_delay, group.reconnect.max_delay);
    apply(own.multiplier, inherited.multiplier, group.reconnect.multiplier);
    apply(own.jitter, inherited.jitter, group.reconnect.jitter);
    apply(own.ca_file, inherited.ca_file, group.tls.ca_file);
    apply(own.verify_hostname, inherited.verify_hostname, group.tls.verify_hostname);
    apply(own.dedup_window, inherited.dedup_window, group.dedup_window);
}

void check_required(const GroupLayer& own, const GroupLayer& inherited, ErrorLog& log) {
    const auto missing = [&](std::string_view key, const std::string& why) {
        log.add(with_path(own.where, own.where.path + "." + std::string(key)), "missing: " + why);
    };
    if (own.name.absent())
        missing("name",
                "every consumer group needs a name (letters, digits, '_', '.' and '-', at most 64), "
                "used in logs and client ids");
    if (own.consumer_group_id.absent())
        missing("consumer_group_id",
                "copy the consumer group ID from the IoT Platform console (Message "
                "Forwarding > Server-side Subscription > Consumer Groups)");
    if (pick(own.endpoint, inherited.endpoint).absent())
        missing("endpoint",
                "set it here or under defaults: the AMQP endpoint from the IoT Platform console "
                "(instance details > View Development Configurations), e.g. " +
                    std::string(kEndpointExample));
    if (pick(own.access_key_id, inherited.access_key_id).absent())
        missing("access_key_id",
                "set it here or under defaults: the AccessKey ID of a RAM user allowed to "
                "subscribe (iot:sub)");
    if (pick(own.secret, inherited.secret).absent())
        log.add(own.where,
                "no AccessKey secret: set access_key_secret_file (recommended), "
                "access_key_secret_credential or access_key_secret, here or under defaults");
}

// Names the group when a value written under defaults: is wrong only together
// with something this group sets; a problem of defaults: alone is reported once.
std::string for_group(const Where& reported, bool group_involved, const std::string& label) {
    return in_defaults(reported) && group_involved ? " (consumer group " + label + ")" : std::string();
}

void check_security_token(const GroupLayer& own, const GroupLayer& inherited, const std::string& label, ErrorLog& log) {
    const Field<AuthMode>& mode = pick(own.auth_mode, inherited.auth_mode);
    if (!mode.valid() || mode.value != AuthMode::ststoken) return;
    const Field<std::string>& token = pick(own.security_token_file, inherited.security_token_file);
    if (token.invalid() || (token.valid() && !token.value.empty())) return;
    log.add(mode.where,
            "auth_mode ststoken needs security_token_file: the file holding the STS security token, "
            "re-read before every connection" +
                for_group(mode.where, !own.security_token_file.absent(), label));
}

void check_backoff(const GroupLayer& own, const GroupLayer& inherited, const std::string& label, ErrorLog& log) {
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

GroupDraft build_group(const GroupLayer& own, const GroupLayer& inherited, ErrorLog& log) {
    GroupDraft draft;
    draft.where = own.where;
    draft.named = own.name.valid();
    draft.name_where = own.name.where;
    const std::string label = draft.named ? "\"" + own.name.value + "\"" : own.where.path;
    check_required(own, inherited, log);
    check_security_token(own, inherited, label, log);
    check_backoff(own, inherited, label, log);
    merge_auth(draft.config, own, inherited);
    merge_connection(draft.config, own, inherited);
    const Field<std::string>& client_id = pick(own.client_id, inherited.client_id);
    draft.client_id_where = client_id.absent() ? with_path(own.where, own.where.path + ".client_id") : client_id.where;
    draft.ids_checkable =
        draft.named && !client_id.invalid() && !pick(own.connections, inherited.connections).invalid();
    return draft;
}

// ---- the consumer group list and checks across groups ------------------------

std::vector<GroupDraft> read_groups(const MapReader& top, const GroupLayer& defaults, Context& ctx) {
    static const KeySet kGroupKeys = group_keys();
    const std::string advice = "add at least one consumer group with a name and a consumer_group_id";
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
        drafts.push_back(build_group(read_layer(map, ctx), defaults, ctx.log));
    }
    return drafts;
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

Config read_config(const YAML::Node& root, Context& ctx) {
    const MapReader top(root, "", kTopKeys, ctx.log, top_level_hint);
    GroupLayer defaults;
    if (const std::optional<MapReader> map = get_map(top, "defaults", kPerGroupKeys, ctx.log, defaults_hint))
        defaults = read_layer(*map, ctx);
    std::vector<GroupDraft> drafts = read_groups(top, defaults, ctx);
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

std::string world_readable_warning(const std::string& path, mode_t mode) {
    return path + " holds an inline access_key_secret and every user on this machine can read it (mode " +
           octal_mode(mode) + "): run chmod 0640 " + path +
           " (owner root, group iot-amqpd), or move the secret into access_key_secret_file";
}

// ---- comparing groups --------------------------------------------------------

bool same_identity_and_auth(const GroupConfig& a, const GroupConfig& b) {
    return a.name == b.name && a.consumer_group_id == b.consumer_group_id && a.endpoint == b.endpoint &&
           a.host == b.host && a.port == b.port && a.access_key_id == b.access_key_id &&
           a.secret_source == b.secret_source && a.secret_path == b.secret_path &&
           same_digest(a.secret_digest, b.secret_digest) && a.auth_mode == b.auth_mode &&
           a.security_token_file == b.security_token_file &&
           same_digest(a.security_token_digest, b.security_token_digest) && a.sign_method == b.sign_method &&
           a.iot_instance_id == b.iot_instance_id;
}

bool same_connection_settings(const GroupConfig& a, const GroupConfig& b) {
    const ReconnectPolicy& x = a.reconnect;
    const ReconnectPolicy& y = b.reconnect;
    return a.client_id_pattern == b.client_id_pattern && a.client_ids == b.client_ids &&
           a.connections == b.connections && a.heartbeat == b.heartbeat && a.credit == b.credit &&
           x.initial_delay == y.initial_delay && x.max_delay == y.max_delay && x.multiplier == y.multiplier &&
           x.jitter == y.jitter && a.tls.ca_file == b.tls.ca_file && a.tls.verify_hostname == b.tls.verify_hostname &&
           a.dedup_window == b.dedup_window;
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

    Context ctx{log, env};
    Config config;
    if (root) config = read_config(*root, ctx);
    config.path = path;

    LoadResult result;
    if (ctx.inline_secret && (mode & S_IROTH) != 0) result.warnings.push_back(world_readable_warning(path, mode));
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
    return same_identity_and_auth(*this, other) && same_connection_settings(*this, other);
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

SecretRead read_secret_file(const std::string& path, std::string_view holds) {
    constexpr std::size_t kLimit = std::size_t{64} * 1024;  // an STS token is a few KiB; more is the wrong file
    FileText file = read_file(path, path, kLimit);
    if (!file.problem.empty()) return {nullptr, std::move(file.problem)};
    while (!file.text.empty() && std::isspace(static_cast<unsigned char>(file.text.back()))) file.text.pop_back();
    if (file.text.empty()) return {nullptr, path + " is empty; it must hold " + std::string(holds)};
    return {std::make_shared<const Secret>(std::move(file.text)), {}};
}

}  // namespace iot
