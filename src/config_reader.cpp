// The generic config reader: see config_reader.hpp.
#include "iot-amqpd/config_reader.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <system_error>
#include <tuple>

#include "iot-amqpd/byte_size.hpp"
#include "iot-amqpd/encoding.hpp"

namespace iot::cfg {

using namespace std::chrono_literals;

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

Where where_of(const YAML::Node& node, std::string path) {
    const YAML::Mark mark = node.Mark();
    if (mark.is_null()) return {0, 0, std::move(path)};
    return {mark.line + 1, mark.column + 1, std::move(path)};
}

Where with_path(const Where& where, std::string path) { return {where.line, where.column, std::move(path)}; }

bool in_defaults(const Where& where) { return starts_with(where.path, "defaults."); }

std::vector<ConfigError> ErrorLog::take() {
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

void ErrorLog::scrub(std::string& text) const {
    constexpr std::size_t kShortest = 6;  // shorter "secrets" would blank out ordinary words
    for (const auto& secret : hidden_) {
        const std::string_view value = secret->reveal();
        if (value.size() < kShortest) continue;
        for (auto at = text.find(value); at != std::string::npos; at = text.find(value, at))
            text.replace(at, value.size(), "(secret hidden)");
    }
}

// ---- files -------------------------------------------------------------------

namespace {

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

}  // namespace

FileText::~FileText() { OPENSSL_cleanse(text.data(), text.capacity()); }

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

namespace {

std::string unknown_key_reason(std::string_view key, const KeySet& known, const Hint& hint) {
    std::string advice = hint ? hint(key) : std::string();
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

}  // namespace

MapReader::MapReader(const YAML::Node& map, std::string path, const KeySet& known, ErrorLog& log, const Hint& hint)
    : path_(std::move(path)), where_(where_of(map, path_)) {
    if (!map.IsMap()) return;
    for (auto it = map.begin(); it != map.end(); ++it) take(it->first, it->second, known, log, hint);
}

const MapReader::Entry* MapReader::find(std::string_view key) const {
    for (const Entry& entry : entries_)
        if (entry.key.Scalar() == key) return &entry;
    return nullptr;
}

void MapReader::take(const YAML::Node& key, const YAML::Node& value, const KeySet& known, ErrorLog& log,
                     const Hint& hint) {
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

Where value_where(const MapReader::Entry& entry) {
    return where_of(entry.value.IsNull() ? entry.key : entry.value, entry.path);
}

// ---- typed getters -----------------------------------------------------------

namespace {

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

}  // namespace

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

Field<std::string> get_checked_string(const MapReader& map, std::string_view key, TextCheck check, ErrorLog& log) {
    Field<std::string> field = get_string(map, key, log);
    if (!field.valid()) return field;
    std::string problem = check(field.value);
    if (problem.empty()) return field;
    return rejected<std::string>(log, field.where, std::move(problem));
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

std::string not_a_byte_size(std::string_view text) {
    std::string reason = "expected a size such as 8MiB or 512KiB (units: B, KiB, MiB, GiB), got " + quoted(text);
    const std::size_t digits = std::min(text.find_first_not_of("0123456789"), text.size());
    const std::string number(text.substr(0, digits));
    const std::string unit(text.substr(digits));
    if (digits == 0) return reason;
    if (unit.empty()) return reason + "; add a unit, e.g. " + number + "B";
    for (const char* decimal : {"K", "k", "KB", "kB", "M", "MB", "G", "GB"}) {
        if (unit != decimal) continue;
        reason += "; sizes are binary: write ";
        reason += number;
        reason += static_cast<char>(std::toupper(static_cast<unsigned char>(unit[0])));
        reason += "iB";
        return reason;
    }
    if (parse_byte_size(number + "B") && (unit == "KiB" || unit == "MiB" || unit == "GiB"))
        return quoted(text) + " is far out of range";  // parse_byte_size overflowed
    if (unit == "B") return quoted(text) + " is far out of range";
    return reason;
}

const ScalarKind<std::int64_t> kInteger{"an integer", parse_integer, not_an_integer, format_integer};
const ScalarKind<double> kNumber{"a number", parse_number, not_a_number, format_number};
const ScalarKind<Millis> kDuration{"a duration", parse_duration, not_a_duration, format_duration};
const ScalarKind<std::int64_t> kByteSize{"a size", parse_byte_size, not_a_byte_size, format_byte_size};

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

Field<std::int64_t> get_byte_size(const MapReader& map, std::string_view key, std::int64_t min, std::int64_t max,
                                  ErrorLog& log) {
    return get_ranged(map, key, kByteSize, min, max, log);
}

std::optional<bool> parse_bool(std::string_view text) {
    for (std::string_view yes : {"true", "yes", "on"})
        if (iequals(text, yes)) return true;
    for (std::string_view no : {"false", "no", "off"})
        if (iequals(text, no)) return false;
    return std::nullopt;
}

// A nested map (reconnect:, tls:, output: ...); an empty value reads as an empty map.
std::optional<MapReader> get_map(const MapReader& parent, std::string_view key, const KeySet& known, ErrorLog& log,
                                 const Hint& hint) {
    const MapReader::Entry* entry = parent.find(key);
    if (entry == nullptr) return std::nullopt;
    if (!entry->value.IsMap() && !entry->value.IsNull()) {
        log.add(value_where(*entry),
                "expected a map of settings (indented key: value lines), got " + describe(entry->value));
        return std::nullopt;
    }
    return MapReader(entry->value, entry->path, known, log, hint);
}

// ---- value checks ------------------------------------------------------------

std::string forbidden_separator(std::string_view text) {
    const std::size_t at = text.find_first_of("|,=");
    if (at == std::string_view::npos) return {};
    return std::string("must not contain '") + text[at] +
           "': the cloud's user name uses '|', ',' and '=' as separators and cannot escape them";
}

std::string readable_file_problem(std::string_view path) {
    if (path.empty()) return {};  // not set
    const std::string name(path);
    return file_problem(FileHandle(name), name);
}

std::string credential_name_problem(std::string_view name) {
    if (name.empty()) return "must not be empty: give the name used in the unit's LoadCredential=NAME:...";
    if (name == "." || name == ".." || name.find('/') != std::string_view::npos)
        return "must be a credential name (as in LoadCredential=NAME:...), not a path";
    return {};
}

// ---- secrets: exactly one source per map -------------------------------------

namespace {

Field<SecretSetting> secret_from(SecretSource source, std::string name, const std::string& file, Where where,
                                 const SecretKeys& keys, ReadContext& ctx) {
    SecretRead read = read_secret_file(file, keys.what);
    if (!read.problem.empty()) {
        if (source == SecretSource::credential)
            read.problem += " (does the unit pass it with LoadCredential=" + name + ":...?)";
        return rejected<SecretSetting>(ctx.log, std::move(where), std::move(read.problem));
    }
    ctx.log.hide(read.secret);
    ctx.content_digests[where.path] = {content_digest(read.secret->reveal()), false};
    return valid_field(SecretSetting{source, std::move(name), std::move(read.secret)}, std::move(where));
}

Field<SecretSetting> inline_secret(const MapReader& map, const SecretKeys& keys, ReadContext& ctx) {
    ctx.inline_secret_key = std::string(keys.inline_key);
    Field<std::string> text = get_string(map, keys.inline_key, ctx.log);
    if (!text.valid()) return same_state<SecretSetting>(text);
    if (text.value.empty()) return rejected<SecretSetting>(ctx.log, text.where, "must not be empty");
    auto secret = std::make_shared<const Secret>(std::move(text.value));
    ctx.log.hide(secret);
    ctx.content_digests[text.where.path] = {content_digest(secret->reveal()), true};
    return valid_field(SecretSetting{SecretSource::inline_value, {}, std::move(secret)}, text.where);
}

Field<SecretSetting> file_secret(const MapReader& map, const SecretKeys& keys, ReadContext& ctx) {
    const Field<std::string> path = get_string(map, keys.file_key, ctx.log);
    if (!path.valid()) return same_state<SecretSetting>(path);
    if (path.value.empty())
        return rejected<SecretSetting>(
            ctx.log, path.where, "must not be empty: give the path of the file that holds " + std::string(keys.what));
    return secret_from(SecretSource::file, path.value, path.value, path.where, keys, ctx);
}

Field<SecretSetting> credential_secret(const MapReader& map, const SecretKeys& keys, ReadContext& ctx) {
    const Field<std::string> name = get_checked_string(map, keys.credential_key, credential_name_problem, ctx.log);
    if (!name.valid()) return same_state<SecretSetting>(name);
    const std::string& directory = ctx.env.credentials_directory;
    if (directory.empty())
        return rejected<SecretSetting>(
            ctx.log, name.where,
            "$CREDENTIALS_DIRECTORY is not set, so there is no credential to read: start the daemon from its "
            "systemd unit with LoadCredential=" +
                name.value + ":/path/to/secret, or use " + std::string(keys.file_key));
    return secret_from(SecretSource::credential, name.value, directory + "/" + name.value, name.where, keys, ctx);
}

Field<SecretSetting> conflicting_secrets(std::vector<const MapReader::Entry*> given, const MapReader& map,
                                         const SecretKeys& keys, ReadContext& ctx) {
    if (map.find(keys.inline_key) != nullptr) (void)inline_secret(map, keys, ctx);  // still hidden and warned about
    std::sort(given.begin(), given.end(), [](const MapReader::Entry* a, const MapReader::Entry* b) {
        return a->key.Mark().pos < b->key.Mark().pos;
    });
    const MapReader::Entry& first = *given.front();
    for (std::size_t i = 1; i < given.size(); ++i)
        ctx.log.add(where_of(given[i]->key, given[i]->path),
                    "only one source is allowed for " + std::string(keys.what) + ", and " + first.key.Scalar() +
                        " is already set on line " + std::to_string(first.key.Mark().line + 1) + "; keep just one of " +
                        std::string(keys.file_key) + ", " + std::string(keys.credential_key) + " and " +
                        std::string(keys.inline_key));
    return invalid_field<SecretSetting>(map.where());
}

}  // namespace

Field<SecretSetting> read_secret(const MapReader& map, const SecretKeys& keys, ReadContext& ctx) {
    for (std::string_view key : {keys.inline_key, keys.file_key, keys.credential_key})
        ctx.secret_family.emplace(key, keys.inline_key);
    std::vector<const MapReader::Entry*> given;
    for (std::string_view key : {keys.inline_key, keys.file_key, keys.credential_key})
        if (const MapReader::Entry* entry = map.find(key)) given.push_back(entry);
    if (given.empty()) return {};
    if (given.size() > 1) return conflicting_secrets(std::move(given), map, keys, ctx);
    const std::string& key = given.front()->key.Scalar();
    if (key == keys.inline_key) return inline_secret(map, keys, ctx);
    if (key == keys.file_key) return file_secret(map, keys, ctx);
    return credential_secret(map, keys, ctx);
}

void GroupFrame::missing_secret(ErrorLog& log, const SecretKeys& keys) const {
    std::string_view what = keys.what;
    if (starts_with(what, "the ")) what.remove_prefix(4);
    log.add(where, "no " + std::string(what) + ": set " + std::string(keys.file_key) + " (recommended), " +
                       std::string(keys.credential_key) + " or " + std::string(keys.inline_key) +
                       ", here or under defaults");
}

std::string for_group(const Where& reported, bool group_involved, const std::string& label) {
    return in_defaults(reported) && group_involved ? " (consumer group " + label + ")" : std::string();
}

}  // namespace iot::cfg

namespace iot {

SecretRead read_secret_file(const std::string& path, std::string_view holds) {
    constexpr std::size_t kLimit = std::size_t{64} * 1024;  // an STS token is a few KiB; more is the wrong file
    cfg::FileText file = cfg::read_file(path, path, kLimit);
    if (!file.problem.empty()) return {nullptr, std::move(file.problem)};
    while (!file.text.empty() && std::isspace(static_cast<unsigned char>(file.text.back()))) file.text.pop_back();
    if (file.text.empty()) return {nullptr, path + " is empty; it must hold " + std::string(holds)};
    return {std::make_shared<const Secret>(std::move(file.text)), {}};
}

}  // namespace iot
