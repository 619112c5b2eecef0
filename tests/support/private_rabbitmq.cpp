#include "private_rabbitmq.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include "subprocess.hpp"
#include "temp_dir.hpp"
#include "test_certs.hpp"
#include "wait_until.hpp"

namespace iot::test {
namespace {

// The unwrapped scripts: /usr/sbin's wrappers switch to the rabbitmq user and
// the system node's /var/lib/rabbitmq.
constexpr const char* kServer = "/usr/lib/rabbitmq/bin/rabbitmq-server";
constexpr const char* kCtl = "/usr/lib/rabbitmq/bin/rabbitmqctl";
constexpr const char* kEpmd = "/usr/bin/epmd";

// A node's boot: 4-6 s on an idle machine, several times that beside a build.
constexpr auto kBootTimeout = std::chrono::seconds(90);
constexpr auto kStopTimeout = std::chrono::seconds(30);
constexpr auto kCtlTimeout = std::chrono::seconds(30);

// Binds 127.0.0.1:port (0: any free one) and returns the bound port; 0 when it is taken.
std::uint16_t bind_port(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    socklen_t length = sizeof address;
    std::uint16_t bound = 0;
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
        bound = ntohs(address.sin_port);
    }
    ::close(fd);
    return bound;
}

bool accepts(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
    ::close(fd);
    return ok;
}

// rabbitmqctl's own distribution ports: the node refuses to boot
// (eaddrinuse) when anything listens there.
constexpr std::uint16_t kCtlPortOffset = 10000;
constexpr std::uint16_t kCtlPortCount = 11;

// A free distribution port whose rabbitmqctl range is free too.
std::uint16_t pick_dist_port() {
    for (int attempt = 0; attempt < 100; ++attempt) {
        const std::uint16_t port = bind_port(0);
        if (port == 0 || port > 65535 - kCtlPortOffset - kCtlPortCount) continue;
        bool range_free = true;
        for (std::uint16_t i = 0; i < kCtlPortCount && range_free; ++i) {
            range_free = bind_port(static_cast<std::uint16_t>(port + kCtlPortOffset + i)) != 0;
        }
        if (range_free) return port;
    }
    throw std::runtime_error("no free distribution port with a free rabbitmqctl range");
}

std::string json_string(const std::string& text) {
    std::string out = "\"";
    for (const char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
            out += escaped;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

// rabbit_password_hashing_sha256: base64(salt + sha256(salt + password)) with a 4-byte salt.
std::string password_hash(const std::string& password) {
    unsigned char salted[4 + EVP_MAX_MD_SIZE];
    if (RAND_bytes(salted, 4) != 1) throw std::runtime_error("RAND_bytes failed");
    const std::string input = std::string(reinterpret_cast<const char*>(salted), 4) + password;
    unsigned int digest_length = 0;
    if (EVP_Digest(input.data(), input.size(), salted + 4, &digest_length, EVP_sha256(), nullptr) != 1) {
        throw std::runtime_error("EVP_Digest failed");
    }
    unsigned char encoded[2 * sizeof salted];
    const int length = EVP_EncodeBlock(encoded, salted, static_cast<int>(4 + digest_length));
    return std::string(reinterpret_cast<const char*>(encoded), static_cast<std::size_t>(length));
}

// Loaded at boot (load_definitions): with definitions, the node makes neither
// the default user guest nor anything else we did not ask for.
std::string definitions(const RabbitmqOptions& options) {
    std::ostringstream out;
    out << "{\"users\": [{\"name\": " << json_string(options.user)
        << ", \"password_hash\": " << json_string(password_hash(options.password))
        << ", \"hashing_algorithm\": \"rabbit_password_hashing_sha256\", \"tags\": [\"administrator\"]}],\n"
        << " \"vhosts\": [{\"name\": \"/\"}],\n"
        << " \"permissions\": [{\"user\": " << json_string(options.user)
        << ", \"vhost\": \"/\", \"configure\": \".*\", \"write\": \".*\", \"read\": \".*\"}],\n"
        << " \"queues\": [";
    const char* separator = "";
    const auto add = [&](const std::string& name, const char* arguments) {
        out << separator << "\n  {\"name\": " << json_string(name)
            << ", \"vhost\": \"/\", \"durable\": true, \"auto_delete\": false, \"arguments\": {" << arguments << "}}";
        separator = ",";
    };
    for (const auto& name : options.classic_queues) add(name, "");
    for (const auto& name : options.quorum_queues) add(name, "\"x-queue-type\": \"quorum\"");
    out << "]}\n";
    return out.str();
}

// rabbitmq.conf: listeners on loopback, TLS with the test certificates, the
// definitions file, the log on stdout (server.log).
std::string configuration(const std::filesystem::path& dir, std::uint16_t amqp_port, std::uint16_t amqps_port) {
    const TestCerts& certs = test_certs();
    std::ostringstream out;
    out << "listeners.tcp.1 = 127.0.0.1:" << amqp_port << "\n"
        << "listeners.ssl.1 = 127.0.0.1:" << amqps_port << "\n"
        << "ssl_options.cacertfile = " << certs.ca << "\n"
        << "ssl_options.certfile = " << certs.server_cert << "\n"
        << "ssl_options.keyfile = " << certs.server_key
        << "\n"
        // Clients authenticate with SASL PLAIN, not with a certificate.
        << "ssl_options.verify = verify_none\n"
        << "ssl_options.fail_if_no_peer_cert = false\n"
        << "load_definitions = " << (dir / "definitions.json").string()
        << "\n"
        // No anonymous AMQP 1.0 logins: a wrong password must fail.
        << "amqp1_0.default_user = none\n"
        << "amqp1_0.default_vhost = /\n"
        << "log.console = true\n"
        << "log.console.level = info\n"
        << "log.file = false\n"
        // A test node's footprint is small; a nearly full disk must not block publishers.
        << "vm_memory_high_watermark.absolute = 1GB\n"
        << "disk_free_limit.absolute = 10MB\n";
    return out.str();
}

std::string tail(const std::string& text, std::size_t max_bytes) {
    return text.size() <= max_bytes ? text : "..." + text.substr(text.size() - max_bytes);
}

std::string random_cookie() {
    unsigned char bytes[20];
    if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("RAND_bytes failed");
    std::string cookie;
    for (const unsigned char b : bytes) cookie += static_cast<char>('A' + b % 26);
    return cookie;
}

// The directories of nodes whose test process was killed (SIGKILL, a ctest
// timeout) before its destructor ran: PR_SET_PDEATHSIG ended their beam and
// epmd, but files can only be swept by the next start. A directory is named
// after its owner's pid and removed only once that process is gone.
void remove_directories_of_dead_owners(const std::filesystem::path& parent) {
    const std::string prefix = "iot-rabbitmq-";
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(parent, error)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind(prefix, 0) != 0) continue;
        const pid_t owner = static_cast<pid_t>(std::atoll(name.c_str() + prefix.size()));
        if (owner > 0 && ::kill(owner, 0) != 0 && errno == ESRCH) std::filesystem::remove_all(entry.path(), error);
    }
}

}  // namespace

PrivateRabbitmq::PrivateRabbitmq() = default;

PrivateRabbitmq::~PrivateRabbitmq() { stop(); }

std::string PrivateRabbitmq::ca_file() const { return test_certs().ca; }

AmqpEndpoint PrivateRabbitmq::endpoint(bool tls) const {
    AmqpEndpoint endpoint;
    endpoint.host = host();
    endpoint.port = tls ? amqps_port_ : amqp_port_;
    endpoint.tls = tls;
    endpoint.ca_file = ca_file();
    endpoint.user = options_.user;
    endpoint.password = options_.password;
    return endpoint;
}

std::string PrivateRabbitmq::queue_address(const std::string& queue) { return "/amq/queue/" + queue; }

bool PrivateRabbitmq::running() { return server_ != nullptr && server_->running(); }

void PrivateRabbitmq::start(const RabbitmqOptions& options) {
    stop();
    options_ = options;
    // A port picked free can be taken by someone else before the node binds
    // it: then the boot fails with eaddrinuse and we try other ports.
    for (int attempt = 0; attempt < 3; ++attempt) {
        if (try_start()) return;
    }
    throw std::runtime_error("the private RabbitMQ node found its ports taken (eaddrinuse) 3 times");
}

bool PrivateRabbitmq::try_start() {
    dir_ = std::make_unique<TempDir>("iot-rabbitmq-" + std::to_string(::getpid()));
    remove_directories_of_dead_owners(dir_->path().parent_path());
    static std::atomic<int> nodes{0};
    node_name_ = "iot-test-" + std::to_string(::getpid()) + "-" + std::to_string(++nodes) + "@localhost";
    dist_port_ = pick_dist_port();
    // Three more free ports, distinct and outside the distribution's.
    std::vector<std::uint16_t> taken;
    const auto pick = [&] {
        for (;;) {
            const std::uint16_t port = bind_port(0);
            const bool distribution = port == dist_port_ || (port >= dist_port_ + kCtlPortOffset &&
                                                             port < dist_port_ + kCtlPortOffset + kCtlPortCount);
            if (port == 0 || distribution || std::find(taken.begin(), taken.end(), port) != taken.end()) continue;
            taken.push_back(port);
            return port;
        }
    };
    epmd_port_ = pick();
    amqp_port_ = pick();
    amqps_port_ = pick();

    const auto& d = dir_->path();
    // rabbitmqctl authenticates to the node with this cookie in $HOME; written
    // before either starts, so neither makes one of its own.
    write_file(d / ".erlang.cookie", random_cookie(), std::filesystem::perms::owner_read);
    write_file(d / "rabbitmq-env.conf", "");  // instead of /etc/rabbitmq's
    write_file(d / "enabled_plugins", "[rabbitmq_amqp1_0].\n");
    write_file(d / "definitions.json", definitions(options_));
    write_file(d / "rabbitmq.conf", configuration(d, amqp_port_, amqps_port_));
    // The distribution listener on loopback too (its default is every
    // interface). A quorum queue's message count is refreshed at its tick
    // (5 s by default): queue_depth() follows it sooner.
    write_file(d / "advanced.config",
               "[{kernel, [{inet_dist_use_interface, {127,0,0,1}}]},\n"
               " {rabbit, [{quorum_tick_interval, 500}]}].\n");

    SpawnOptions epmd;
    epmd.program = kEpmd;
    epmd.args = {"-port", std::to_string(epmd_port_), "-address", "127.0.0.1"};
    epmd.stdout_file = d / "epmd.log";
    epmd.stderr_file = d / "epmd.log";
    epmd_ = std::make_unique<Subprocess>(epmd);
    if (!wait_until(
            "epmd accepting", [this] { return accepts(epmd_port_); }, std::chrono::seconds(10))) {
        stop();
        throw std::runtime_error("the private RabbitMQ node's epmd did not start");
    }

    return boot();
}

bool PrivateRabbitmq::boot() {
    const auto started = std::chrono::steady_clock::now();
    const auto& d = dir_->path();
    std::filesystem::remove(d / "pid");  // a restart's `rabbitmqctl wait` must not find the last beam's
    SpawnOptions server;
    server.program = kServer;
    server.extra_env = environment();
    // The way systemd runs it: the script execs beam.smp rather than forking
    // it, so beam is our child and PR_SET_PDEATHSIG reaches it.
    server.extra_env.emplace_back("RUNNING_UNDER_SYSTEMD", "true");
    server.removed_env = {"NOTIFY_SOCKET"};  // not a systemd service: no sd_notify to a test's listener
    server.stdout_file = d / "server.log";
    server.stderr_file = d / "server.log";
    server_ = std::make_unique<Subprocess>(server);

    // Returns when the node runs with its plugins, or when beam has exited.
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(kBootTimeout).count();
    std::string error;
    try {
        rabbitmqctl({"wait", "--timeout", std::to_string(seconds), (d / "pid").string()},
                    kBootTimeout + std::chrono::seconds(10));
    } catch (const std::exception& e) {
        error = e.what();
    }
    if (error.empty()) {
        start_time_ = std::chrono::steady_clock::now() - started;
        return true;
    }
    const std::string log = log_tail(6000);
    stop();
    if (log.find("eaddrinuse") != std::string::npos) return false;
    throw std::runtime_error("the private RabbitMQ node did not start: " + error + "\n--- its log ---\n" + log);
}

void PrivateRabbitmq::restart() {
    if (!dir_) throw std::runtime_error("restart: the private RabbitMQ node is not started");
    stop_server();
    if (!boot()) throw std::runtime_error("restart: the node's ports were taken meanwhile (eaddrinuse)");
}

void PrivateRabbitmq::stop_server() {
    if (!server_) return;
    // beam shuts down cleanly on SIGTERM (rabbit's own signal handler).
    server_->signal(SIGTERM);
    server_->wait_or_kill(kStopTimeout);
    server_.reset();
}

void PrivateRabbitmq::stop() {
    stop_server();
    if (epmd_) {
        epmd_->signal(SIGTERM);
        epmd_->wait_or_kill(std::chrono::seconds(5));
        epmd_.reset();
    }
    dir_.reset();
}

std::vector<std::pair<std::string, std::string>> PrivateRabbitmq::environment() const {
    const auto& d = dir_->path();
    return {
        {"HOME", d.string()},
        {"RABBITMQ_NODENAME", node_name_},
        {"RABBITMQ_DIST_PORT", std::to_string(dist_port_)},
        {"RABBITMQ_CTL_DIST_PORT_MIN", std::to_string(dist_port_ + kCtlPortOffset)},
        {"RABBITMQ_CTL_DIST_PORT_MAX", std::to_string(dist_port_ + kCtlPortOffset + kCtlPortCount - 1)},
        {"ERL_EPMD_PORT", std::to_string(epmd_port_)},
        {"ERL_EPMD_ADDRESS", "127.0.0.1"},
        {"ERL_CRASH_DUMP", (d / "erl_crash.dump").string()},  // not in the test's working directory
        {"RABBITMQ_CONF_ENV_FILE", (d / "rabbitmq-env.conf").string()},
        {"RABBITMQ_CONFIG_FILE", (d / "rabbitmq.conf").string()},
        {"RABBITMQ_ADVANCED_CONFIG_FILE", (d / "advanced.config").string()},
        {"RABBITMQ_ENABLED_PLUGINS_FILE", (d / "enabled_plugins").string()},
        {"RABBITMQ_MNESIA_BASE", (d / "mnesia").string()},
        {"RABBITMQ_LOG_BASE", (d / "log").string()},
        {"RABBITMQ_PID_FILE", (d / "pid").string()},
        {"LC_ALL", "C.UTF-8"},  // the CLI (Elixir) warns under a latin1 locale
    };
}

std::string PrivateRabbitmq::rabbitmqctl(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
    if (!dir_) throw std::runtime_error("rabbitmqctl: the private RabbitMQ node is not started");
    const std::string run = "ctl-" + std::to_string(++ctl_runs_);
    SpawnOptions ctl;
    ctl.program = kCtl;
    ctl.args = args;
    ctl.extra_env = environment();
    ctl.stdout_file = *dir_ / (run + ".out");
    ctl.stderr_file = *dir_ / (run + ".err");
    Subprocess process(ctl);
    const ExitStatus status = process.wait_or_kill(timeout);
    if (!status.clean()) {
        std::string command = "rabbitmqctl";
        for (const auto& arg : args) command += " " + arg;
        throw std::runtime_error(command + ": " + status.to_string() + ": " + tail(process.stderr_text(), 2000) +
                                 tail(process.stdout_text(), 2000));
    }
    return process.stdout_text();
}

void PrivateRabbitmq::publish(const std::string& queue, const std::vector<AmqpTestMessage>& messages,
                              std::chrono::milliseconds timeout) const {
    publish_amqp(endpoint(true), queue_address(queue), messages, timeout);
}

std::int64_t PrivateRabbitmq::queue_depth(const std::string& queue) { return queue_column(queue, "messages"); }

std::int64_t PrivateRabbitmq::unacknowledged(const std::string& queue) {
    return queue_column(queue, "messages_unacknowledged");
}

std::int64_t PrivateRabbitmq::queue_column(const std::string& queue, const std::string& column) {
    // "NAME\tVALUE" per line; `messages` is messages_ready + messages_unacknowledged.
    const std::string out = rabbitmqctl({"list_queues", "--quiet", "--no-table-headers", "name", column}, kCtlTimeout);
    std::istringstream lines(out);
    std::string line;
    while (std::getline(lines, line)) {
        const auto tab = line.find('\t');
        if (tab != std::string::npos && line.substr(0, tab) == queue) return std::stoll(line.substr(tab + 1));
    }
    throw std::runtime_error("queue_depth: no queue " + queue + " in: " + out);
}

void PrivateRabbitmq::purge_queue(const std::string& queue) {
    rabbitmqctl({"purge_queue", "--quiet", queue}, kCtlTimeout);
}

void PrivateRabbitmq::close_all_connections() {
    rabbitmqctl({"close_all_connections", "--quiet", "--global", "closed by the test"}, kCtlTimeout);
}

std::string PrivateRabbitmq::log_tail(std::size_t max_bytes) const {
    if (!dir_) return "";
    return tail(read_file(*dir_ / "server.log").value_or(""), max_bytes);
}

}  // namespace iot::test
