// Fuzz target: arbitrary bytes as the YAML config file. load_config() must
// return errors or a config, never crash, hang or leak, and what it returns
// must hold the promises of DESIGN.md §4 (checked below).
//
// The input is written to a memfd and loaded through /proc/self/fd/N. While
// load_config() runs, open() is confined to a fixture directory: the fuzzer
// would otherwise make a root process open arbitrary paths (a FIFO blocks
// forever, a device file may do worse), and results would depend on the host.
// Inside the loader these paths exist:
//   /fuzz/secret, /fuzz/token, /fuzz/ca.pem     ordinary readable files
//   /fuzz/empty, /fuzz/blank                     empty / whitespace only
//   /fuzz/big                                    larger than any limit (100 KiB)
//   /fuzz/dir/                                   a directory
//   /fuzz/unreadable                             fails with EACCES
//   /fuzz/credentials/access-key-secret          $CREDENTIALS_DIRECTORY
// and every other path fails with ENOENT.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <tuple>

#include "fuzz_check.hpp"
#include "iot-amqpd/cloud_profile.hpp"
#include "iot-amqpd/clouds/aliyun.hpp"
#include "iot-amqpd/config.hpp"
#include "iot-amqpd/config_diff.hpp"
#include "text_oracles.hpp"

namespace {

// Never printed by the loader: checked against every error and warning.
constexpr std::string_view kFixtureSecret = "fixture-secret-Qz7dXk2pLm";
constexpr std::string_view kCredentialSecret = "fixture-credential-Wv4nRt8s";
constexpr std::string_view kVirtualRoot = "/fuzz/";

thread_local bool confined = false;  // only the loader's opens are redirected
std::string fixture_dir;             // the real directory behind /fuzz/
std::string config_path;             // /proc/self/fd/N of the memfd
int config_fd = -1;

int real_open(const char* path, int flags, mode_t mode) {
    return static_cast<int>(::syscall(SYS_openat, AT_FDCWD, path, flags, mode));
}

int fail_with(int error) {
    errno = error;
    return -1;
}

int confined_open(const char* path, int flags, mode_t mode) {
    if (!confined) return real_open(path, flags, mode);
    const std::string_view wanted(path);
    if (wanted == config_path) return real_open(path, flags, mode);
    if ((flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC)) != 0) return fail_with(EROFS);
    if (wanted.substr(0, kVirtualRoot.size()) != kVirtualRoot) return fail_with(ENOENT);
    const std::string_view name = wanted.substr(kVirtualRoot.size());
    if (name.find("..") != std::string_view::npos) return fail_with(ENOENT);
    if (name == "unreadable") return fail_with(EACCES);
    return real_open((fixture_dir + "/" + std::string(name)).c_str(), flags, mode);
}

void write_file(const std::string& path, std::string_view text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    FUZZ_CHECK(out.good(), "writing a fixture file");
}

void remove_fixture() {
    for (const char* name : {"secret", "token", "ca.pem", "empty", "blank", "big", "credentials/access-key-secret"})
        ::unlink((fixture_dir + "/" + name).c_str());
    ::rmdir((fixture_dir + "/credentials").c_str());
    ::rmdir((fixture_dir + "/dir").c_str());
    ::rmdir(fixture_dir.c_str());
}

void make_fixture() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/iot-fuzz-config.XXXXXX";
    FUZZ_CHECK(::mkdtemp(pattern.data()) != nullptr, "creating the fixture directory");
    fixture_dir = pattern;
    std::atexit(remove_fixture);
    write_file(fixture_dir + "/secret", std::string(kFixtureSecret) + "\n");
    write_file(fixture_dir + "/token", "CAIS-fixture-token==\n");
    write_file(fixture_dir + "/ca.pem", "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n");
    write_file(fixture_dir + "/empty", "");
    write_file(fixture_dir + "/blank", " \n\t\n");
    write_file(fixture_dir + "/big", std::string(100 * 1024, 'x'));
    FUZZ_CHECK(::mkdir((fixture_dir + "/dir").c_str(), 0700) == 0, "creating the fixture dir/");
    FUZZ_CHECK(::mkdir((fixture_dir + "/credentials").c_str(), 0700) == 0, "creating the fixture credentials/");
    write_file(fixture_dir + "/credentials/access-key-secret", kCredentialSecret);
}

iot::LoadEnvironment fixture_environment() {
    iot::LoadEnvironment env;
    env.host_name = "fuzz-host";
    env.credentials_directory = "/fuzz/credentials";
    return env;
}

iot::LoadResult load(std::string_view text) {
    FUZZ_CHECK(::ftruncate(config_fd, 0) == 0, "truncating the memfd");
    FUZZ_CHECK(::pwrite(config_fd, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size()),
               "writing the memfd");
    confined = true;
    iot::LoadResult result = iot::load_config(config_path, fixture_environment());
    confined = false;
    return result;
}

bool has_separator(std::string_view text) { return text.find_first_of("|,=") != std::string_view::npos; }

std::size_t code_points(std::string_view text) {
    std::size_t n = 0;
    for (const char c : text)
        if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
    return n;
}

void check_errors(const iot::LoadResult& result, std::string_view input) {
    FUZZ_CHECK((result.config != nullptr) == result.errors.empty(), "a config exactly when there is no error");
    FUZZ_CHECK(result.ok() == result.errors.empty(), "ok() means no errors");
    const long lines = 1 + static_cast<long>(std::count(input.begin(), input.end(), '\n'));
    const bool input_names_secret =
        input.find(kFixtureSecret) != std::string_view::npos || input.find(kCredentialSecret) != std::string_view::npos;
    std::set<std::string> seen;
    for (std::size_t i = 0; i < result.errors.size(); ++i) {
        const iot::ConfigError& error = result.errors[i];
        FUZZ_CHECK(!error.reason.empty(), "every error has a reason");
        FUZZ_CHECK(error.line >= 0 && error.column >= 0, "line and column are 0 or positive");
        FUZZ_CHECK((error.line == 0) == (error.column == 0), "a position has both a line and a column, or neither");
        FUZZ_CHECK(error.line <= lines + 1, "the line lies inside the file");
        FUZZ_CHECK(error.file == config_path, "the error names the config file");
        const std::string text = error.to_string();
        FUZZ_CHECK(text.compare(0, config_path.size(), config_path) == 0, "file:line:col: key: reason");
        FUZZ_CHECK(seen.insert(text).second, "no error is reported twice");
        if (i > 0) {
            const iot::ConfigError& before = result.errors[i - 1];
            FUZZ_CHECK(std::tie(before.line, before.column) <= std::tie(error.line, error.column),
                       "errors are in file order");
        }
        if (!input_names_secret)
            FUZZ_CHECK(
                text.find(kFixtureSecret) == std::string::npos && text.find(kCredentialSecret) == std::string::npos,
                "no secret read from a file appears in an error");
    }
    if (!input_names_secret)
        for (const std::string& warning : result.warnings)
            FUZZ_CHECK(warning.find(kFixtureSecret) == std::string::npos &&
                           warning.find(kCredentialSecret) == std::string::npos,
                       "no secret read from a file appears in a warning");
}

void check_group(const iot::GroupConfig& group, std::set<std::string>& names, std::set<std::string>& client_ids) {
    FUZZ_CHECK(!group.name.empty() && group.name.size() <= 64 &&
                   group.name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") ==
                       std::string::npos,
               "group name is [A-Za-z0-9_.-]{1,64}");
    FUZZ_CHECK(names.insert(group.name).second, "group names are unique");
    FUZZ_CHECK(group.settings != nullptr, "a loaded group has its cloud's settings");
    FUZZ_CHECK(&group.settings->profile() == iot::find_cloud_profile(group.cloud), "the settings are its cloud's");
    const iot::ProfileLimits limits = group.settings->profile().limits();
    if (group.cloud == "aliyun") {
        const iot::AliyunGroup& aliyun = iot::aliyun_of(group);
        FUZZ_CHECK(!aliyun.consumer_group_id.empty() && !has_separator(aliyun.consumer_group_id),
                   "consumer_group_id is set and has no user-name separator");
        FUZZ_CHECK(!aliyun.access_key_id.empty() && !has_separator(aliyun.access_key_id),
                   "access_key_id is set and has no user-name separator");
        FUZZ_CHECK(!has_separator(aliyun.iot_instance_id), "iot_instance_id has no user-name separator");
        FUZZ_CHECK(aliyun.access_key_secret != nullptr && !aliyun.access_key_secret->empty(), "a secret was read");
        FUZZ_CHECK(aliyun.auth_mode != iot::AuthMode::ststoken || !aliyun.security_token_file.empty(),
                   "ststoken has a security_token_file");
        FUZZ_CHECK(iot::fuzz::reference_utf8(aliyun.consumer_group_id), "consumer_group_id is UTF-8");
    }
    FUZZ_CHECK(group.endpoint.compare(0, 8, "amqps://") == 0 ||
                   (!limits.tls_required && group.plaintext && group.tls.insecure_plaintext &&
                    group.endpoint.compare(0, 7, "amqp://") == 0),
               "amqps endpoints only, or amqp:// where the cloud allows it and the group asked for it");
    FUZZ_CHECK(!group.host.empty() && group.port != 0, "the endpoint has a host and a port");
    FUZZ_CHECK(group.connections >= 1 && group.connections <= 64, "connections 1..64");
    FUZZ_CHECK(group.client_ids.size() == static_cast<std::size_t>(group.connections), "one client id per connection");
    for (const std::string& id : group.client_ids) {
        FUZZ_CHECK(code_points(id) >= 1 && code_points(id) <= 64, "client id is 1..64 characters");
        FUZZ_CHECK(!has_separator(id), "client id has no user-name separator");
        FUZZ_CHECK(client_ids.insert(id).second, "no two connections share a client id");
    }
    FUZZ_CHECK(group.heartbeat >= limits.min_heartbeat && group.heartbeat <= limits.max_heartbeat,
               "heartbeat within the cloud's bounds");
    FUZZ_CHECK(group.credit >= 1, "credit is positive");
    FUZZ_CHECK(group.memory_budget >= iot::kMinMemoryBudget && group.memory_budget <= iot::kMaxMemoryBudget,
               "memory_budget within 64KiB..1GiB");
    FUZZ_CHECK(group.reconnect.initial_delay > iot::Millis(0), "initial_delay is positive");
    FUZZ_CHECK(group.reconnect.max_delay >= group.reconnect.initial_delay, "max_delay is at least initial_delay");
    FUZZ_CHECK(group.reconnect.multiplier >= 1.0, "multiplier is at least 1");
    FUZZ_CHECK(group.reconnect.jitter >= 0.0 && group.reconnect.jitter <= 1.0, "jitter 0..1");
    FUZZ_CHECK(group.same_settings(group), "a group has the same settings as itself");
}

void check_config(const iot::Config& config, const iot::Config* baseline) {
    FUZZ_CHECK(!config.groups.empty(), "a valid config has at least one consumer group");
    std::set<std::string> names;
    std::set<std::string> client_ids;
    for (const iot::GroupConfig& group : config.groups) {
        check_group(group, names, client_ids);
        FUZZ_CHECK(config.find_group(group.name) == &group, "find_group finds each group");
        // These reach the JSON line and the journal verbatim.
        FUZZ_CHECK(iot::fuzz::reference_utf8(std::string(group.settings->group_id())), "the group id is UTF-8");
        for (const std::string& id : group.client_ids)
            FUZZ_CHECK(iot::fuzz::reference_utf8(id), "client ids are UTF-8");
    }
    FUZZ_CHECK(!config.output.syslog_identifier.empty(), "syslog_identifier is set");
    FUZZ_CHECK(config.metrics.interval > iot::Millis(0), "metrics interval is positive");

    const iot::ConfigDiff same = iot::diff_configs(config, config);
    FUZZ_CHECK(same.groups_unchanged() && same.restart_required.empty() && !same.log_level_changed &&
                   !same.metrics_changed && same.unchanged.size() == config.groups.size(),
               "a config diffed against itself changes nothing");
    if (baseline != nullptr) {
        const iot::ConfigDiff diff = iot::diff_configs(*baseline, config);
        FUZZ_CHECK(diff.added.size() + diff.changed.size() + diff.unchanged.size() == config.groups.size(),
                   "every new group is added, changed or unchanged");
        FUZZ_CHECK(diff.removed.size() + diff.changed.size() + diff.unchanged.size() == baseline->groups.size(),
                   "every old group is removed, changed or unchanged");
        const iot::Config installed = iot::keep_restart_only_settings(*baseline, config);
        FUZZ_CHECK(installed.groups.size() == config.groups.size(), "reload installs the new groups");
    }
}

// A small valid config, the "running" side of the reload diff.
constexpr std::string_view kBaseline = R"(defaults:
  endpoint: amqps://iot-06z00abcdef.amqp.iothub.aliyuncs.com:5671
  access_key_id: LTAI5tFixture
  access_key_secret_file: /fuzz/secret
consumer_groups:
  - name: factory-a
    consumer_group_id: VWhGZ2QnP7kxWpeSSjt1234
  - name: factory-b
    consumer_group_id: Bq8vZ2QnP7kxWpeSSjt5678
    connections: 2
)";

std::shared_ptr<const iot::Config> baseline;
bool verbose = false;

}  // namespace

// Interposes libc's open() for the whole process; confined_open() passes every
// call through unchanged unless the loader is running.
extern "C" int open(const char* path, int flags, ...) {
    mode_t mode = 0;
    if ((flags & (O_CREAT | O_TMPFILE)) != 0) {
        va_list args;
        va_start(args, flags);
        mode = static_cast<mode_t>(va_arg(args, int));
        va_end(args);
    }
    return confined_open(path, flags, mode);
}

extern "C" int open64(const char* path, int flags, ...) {
    mode_t mode = 0;
    if ((flags & (O_CREAT | O_TMPFILE)) != 0) {
        va_list args;
        va_start(args, flags);
        mode = static_cast<mode_t>(va_arg(args, int));
        va_end(args);
    }
    return confined_open(path, flags, mode);
}

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
    make_fixture();
    config_fd = ::memfd_create("iot-amqpd-fuzz-config", MFD_CLOEXEC);
    FUZZ_CHECK(config_fd >= 0, "memfd_create");
    config_path = "/proc/self/fd/" + std::to_string(config_fd);

    const iot::LoadResult base = load(kBaseline);
    for (const auto& error : base.errors) std::fprintf(stderr, "baseline: %s\n", error.to_string().c_str());
    FUZZ_CHECK(base.ok(), "the baseline config loads");
    baseline = base.config;
    verbose = std::getenv("IOT_FUZZ_VERBOSE") != nullptr;
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const iot::LoadResult result = load(input);
    if (verbose) {  // for looking at what a seed exercises: IOT_FUZZ_VERBOSE=1 fuzz_config FILE
        for (const auto& error : result.errors) std::fprintf(stderr, "error: %s\n", error.to_string().c_str());
        for (const auto& warning : result.warnings) std::fprintf(stderr, "warning: %s\n", warning.c_str());
        if (result.config) std::fprintf(stderr, "ok: %zu consumer groups\n", result.config->groups.size());
    }
    check_errors(result, input);
    if (result.config) check_config(*result.config, baseline.get());
    return 0;
}
