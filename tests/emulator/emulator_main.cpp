// iot-amqpd-emulator: the cloud emulator as a program (see emulator.hpp), its
// control client (`ctl`) and a built-in loopback benchmark (`bench`).
//
//   iot-amqpd-emulator --listen 127.0.0.1:0 --cert server.pem --key server.key
//       --accounts accounts.yaml --control /path/ctl.sock [--port-file FILE] [--strict]
//       [--no-throttle] [--push-rate 1000] [--backlog-rate 200]
//       [--skew 15m] [--ack-timeout 30s] [--link-deadline 15s] [--sasl-deadline 15s]
//       [--handshake-deadline 15s] [--redelivery-delay 0s] [--max-clients 64]
//       [--max-attempts-per-minute 100] [--log-file FILE|-]
//       [--iotda-skew 5m] [--iotda-max-connections 32] [--iotda-max-links 10]
//       [--iotda-min-idle 1s] [--iotda-max-idle 600s] [--iotda-ack-timeout 30s]
//
// --strict refuses replayed timestamps and turns on the cloud's push limits:
// 1000 msg/s per connection, 200 msg/s per group for redeliveries (the backlog).
// --no-throttle turns the limits off again (benchmarks); --push-rate and
// --backlog-rate set them (msg/s, 0 = unlimited) with or without --strict.
// --handshake-deadline: TCP accept -> SASL done, else the socket is closed (15 s).
// --iotda-*: the Huawei IoTDA dialect's clock window, connections per access
// key, receiver links per connection, accepted idle-time-out range and the
// ack timeout of its queues (Huawei documents none; Alibaba's 30 s by default).
//   iot-amqpd-emulator ctl --control PATH <command words...>
//   iot-amqpd-emulator bench --cert server.pem --key server.key --ca ca.pem
//       [--count N] [--credit C] [--size B]
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "accounts.hpp"
#include "control_client.hpp"
#include "control_protocol.hpp"
#include "control_server.hpp"
#include "emulator.hpp"
#include "iot-amqpd/duration.hpp"
#include "iot-amqpd/signer.hpp"
#include "test_receiver.hpp"

namespace {

using namespace iot::emu;
using std::chrono::milliseconds;

constexpr int kExitUsage = 2;

void usage(std::FILE* out) {
    std::fputs(
        "usage: iot-amqpd-emulator --listen HOST:PORT --cert PEM --key PEM --accounts YAML --control SOCKET\n"
        "                          [--port-file FILE] [--strict] [--no-throttle] [--push-rate 1000]\n"
        "                          [--backlog-rate 200] [--skew 15m] [--ack-timeout 30s]\n"
        "                          [--link-deadline 15s] [--sasl-deadline 15s] [--handshake-deadline 15s]\n"
        "                          [--redelivery-delay 0s] [--max-clients 64] [--max-attempts-per-minute 100]\n"
        "                          [--log-file FILE|-] [--iotda-skew 5m] [--iotda-max-connections 32]\n"
        "                          [--iotda-max-links 10] [--iotda-min-idle 1s] [--iotda-max-idle 600s]\n"
        "                          [--iotda-ack-timeout 30s]\n"
        "       iot-amqpd-emulator ctl --control SOCKET <command words...>\n"
        "       iot-amqpd-emulator bench --cert PEM --key PEM --ca PEM [--count N] [--credit C] [--size B]\n"
        "\n"
        "  --strict           refuse replayed timestamps; push at most 1000 msg/s per connection and\n"
        "                     redeliver at most 200 msg/s per group, as the cloud does\n"
        "  --no-throttle      no push limits even with --strict (benchmarks)\n"
        "  --push-rate R      msg/s per connection, 0 = unlimited (default: 1000 with --strict, else 0)\n"
        "  --backlog-rate R   redeliveries, msg/s per group, 0 = unlimited (default: 200 with --strict, else 0)\n"
        "  --handshake-deadline D  close a socket not authenticated D after accept (15s)\n"
        "  --iotda-*          the IoTDA dialect (user names accessKey=...): clock window, connections per\n"
        "                     access key, receiver links per connection, accepted idle-time-out range,\n"
        "                     ack timeout of the queues\n"
        "\n"
        "control commands (ctl, or one line each on the control socket; see control_protocol.hpp):\n"
        "  publish group=G count=N [rate=R] [size=B] [kind=K|mixed] [id_prefix=P] [dup=K] [premade=0|1] ...\n"
        "  drop [group=G]    close [group=G] [condition=C] [description=D]    refuse_auth seconds=S\n"
        "  stall seconds=S|ms=N              freeze the whole emulator (no reads, writes, heartbeats)\n"
        "  stall group=G seconds=S|ms=N      stop pushes to that group's connections only\n"
        "  stall client=ID seconds=S|ms=N    stop pushes to that client id's connections only\n"
        "  publish queue=Q count=N [rate=R] [devices=D] [resource=device.message|device.property|mixed]\n"
        "          [request_id=1|0] [event_time_ms=1|0] [id_prefix=P] [dup=K]    (IoTDA)\n"
        "  drop queue=Q    close queue=Q [condition=C] [description=D]    stall queue=Q seconds=S|ms=N\n"
        "  stats | clients | quit\n",
        out);
}

struct Args {
    std::map<std::string, std::string> values;
    std::vector<std::string> rest;  // words after the options (ctl)
    bool strict = false;
    bool no_throttle = false;
};

// Every option takes a value except --strict and --no-throttle; unknown options are usage errors.
std::optional<Args> parse_args(int argc, char** argv, int first, const std::vector<std::string>& known,
                               bool stop_at_word) {
    Args args;
    for (int i = first; i < argc; ++i) {
        const std::string word = argv[i];
        if (word == "--strict") {
            args.strict = true;
            continue;
        }
        if (word == "--no-throttle") {
            args.no_throttle = true;
            continue;
        }
        if (word.rfind("--", 0) != 0) {
            if (!stop_at_word) {
                std::fprintf(stderr, "unexpected argument %s\n", word.c_str());
                return std::nullopt;
            }
            for (int j = i; j < argc; ++j) args.rest.emplace_back(argv[j]);
            break;
        }
        const std::string key = word.substr(2);
        bool ok = false;
        for (const auto& k : known) ok = ok || k == key;
        if (!ok || i + 1 >= argc) {
            std::fprintf(stderr, "unknown option or missing value: %s\n", word.c_str());
            return std::nullopt;
        }
        args.values[key] = argv[++i];
    }
    return args;
}

bool write_port_file(const std::string& path, std::uint16_t port) {
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << port << "\n";
        if (!out.flush()) return false;
    }
    return std::rename(tmp.c_str(), path.c_str()) == 0;  // readers never see a partial file
}

int run_ctl(int argc, char** argv) {
    const auto args = parse_args(argc, argv, 2, {"control", "timeout"}, true);
    if (!args || args->values.count("control") == 0 || args->rest.empty()) {
        usage(stderr);
        return kExitUsage;
    }
    std::string command;
    for (const auto& word : args->rest) {
        if (!command.empty()) command += ' ';
        // Re-quote words that had spaces in the shell ("description=a b").
        const auto eq = word.find('=');
        if (word.find(' ') != std::string::npos && eq != std::string::npos) {
            command += word.substr(0, eq + 1) + "\"" + word.substr(eq + 1) + "\"";
        } else {
            command += word;
        }
    }
    milliseconds timeout(60000);
    if (const auto it = args->values.find("timeout"); it != args->values.end()) {
        const auto d = iot::parse_duration(it->second);
        if (!d) return kExitUsage;
        timeout = *d;
    }
    try {
        ControlClient client(args->values.at("control"), timeout);
        const std::string reply = client.request(command);
        std::puts(reply.c_str());
        return Json::parse(reply)["ok"].is_bool() && Json::parse(reply)["ok"].as_bool() ? 0 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "iot-amqpd-emulator ctl: %s\n", e.what());
        return 1;
    }
}

// Publishes N messages to an in-process emulator and receives them with an
// accept-only proton receiver over TLS on loopback: the emulator's push rate.
int run_bench(int argc, char** argv) {
    const auto args = parse_args(argc, argv, 2, {"cert", "key", "ca", "count", "credit", "size"}, false);
    if (!args || args->values.count("cert") == 0 || args->values.count("key") == 0 || args->values.count("ca") == 0) {
        usage(stderr);
        return kExitUsage;
    }
    const auto get = [&](const char* key, std::size_t fallback) {
        const auto it = args->values.find(key);
        return it == args->values.end() ? fallback : static_cast<std::size_t>(std::stoull(it->second));
    };
    const std::size_t count = get("count", 200000);
    const int credit = static_cast<int>(get("credit", 100));
    const std::size_t size = get("size", 300);

    auto accounts = std::make_shared<Accounts>(parse_accounts(
        "consumer_groups: [BENCH]\naccounts:\n  - {access_key_id: LTAI_BENCH, access_key_secret: bench-secret, "
        "consumer_groups: [BENCH]}\n"));
    EmulatorOptions options;  // no push limits: this measures the emulator's own speed
    options.cert_file = args->values.at("cert");
    options.key_file = args->values.at("key");
    options.accounts = accounts;
    Emulator emulator(options);
    const std::uint16_t port = emulator.start();

    const iot::Secret secret("bench-secret");
    iot::SignRequest request;
    request.access_key_id = "LTAI_BENCH";
    request.access_key_secret = &secret;
    request.timestamp_ms =
        std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    request.client_id = "bench-1";
    request.consumer_group_id = "BENCH";
    const auto credentials = iot::sign(request);

    ReceiverOptions ropts;
    ropts.host = "localhost";
    ropts.port = port;
    ropts.user = credentials.user_name;
    ropts.password = std::string(credentials.password.reveal());
    ropts.ca_file = args->values.at("ca");
    ropts.credit = credit;
    TestReceiver receiver(ropts);
    receiver.start();
    if (!TestReceiver::wait_for([&] { return receiver.link_open() || receiver.finished(); }, milliseconds(10000)) ||
        !receiver.link_open()) {
        std::fprintf(stderr, "bench: receiver did not attach: %s\n", receiver.error().c_str());
        return 1;
    }
    PublishSpec spec;
    spec.group = "BENCH";
    spec.count = count;
    spec.size = size;
    spec.premade = true;  // as bench/run.sh publishes to the daemon: the clock starts once they are made
    const auto released = emulator.publish(spec).released_ns;
    const std::chrono::steady_clock::time_point started{std::chrono::nanoseconds(released)};
    const bool done = TestReceiver::wait_for(
        [&] { return emulator.stats().groups.at("BENCH").queue.accepted >= count; }, milliseconds(600000));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const auto stats = emulator.stats().groups.at("BENCH").queue;
    receiver.stop();
    emulator.stop();
    std::printf(
        "{\"ok\":%s,\"count\":%zu,\"credit\":%d,\"size\":%zu,\"seconds\":%.3f,\"msgs_per_s\":%.0f,"
        "\"delivered\":%llu,\"accepted\":%llu,\"received\":%zu}\n",
        done ? "true" : "false", count, credit, size, seconds, static_cast<double>(stats.accepted) / seconds,
        static_cast<unsigned long long>(stats.delivered), static_cast<unsigned long long>(stats.accepted),
        receiver.received());
    return done ? 0 : 1;
}

int run_server(int argc, char** argv) {
    const auto args = parse_args(argc, argv, 1,
                                 {"listen",
                                  "cert",
                                  "key",
                                  "accounts",
                                  "control",
                                  "port-file",
                                  "skew",
                                  "ack-timeout",
                                  "link-deadline",
                                  "sasl-deadline",
                                  "handshake-deadline",
                                  "redelivery-delay",
                                  "max-clients",
                                  "max-attempts-per-minute",
                                  "log-file",
                                  "push-rate",
                                  "backlog-rate",
                                  "iotda-skew",
                                  "iotda-max-connections",
                                  "iotda-max-links",
                                  "iotda-min-idle",
                                  "iotda-max-idle",
                                  "iotda-ack-timeout"},
                                 false);
    if (!args) {
        usage(stderr);
        return kExitUsage;
    }
    for (const char* required : {"cert", "key", "accounts", "control"}) {
        if (args->values.count(required) == 0) {
            std::fprintf(stderr, "--%s is required\n", required);
            usage(stderr);
            return kExitUsage;
        }
    }
    EmulatorOptions options;
    options.listen = args->values.count("listen") ? args->values.at("listen") : "127.0.0.1:0";
    options.cert_file = args->values.at("cert");
    options.key_file = args->values.at("key");
    options.auth.strict = args->strict;
    const std::pair<const char*, milliseconds*> durations[] = {
        {"skew", &options.auth.skew},
        {"ack-timeout", &options.ack_timeout},
        {"link-deadline", &options.link_deadline},
        {"sasl-deadline", &options.sasl_deadline},
        {"handshake-deadline", &options.handshake_deadline},
        {"redelivery-delay", &options.redelivery_delay},
        {"iotda-skew", &options.iotda.skew},
        {"iotda-ack-timeout", &options.iotda.ack_timeout},
    };
    for (const auto& [key, target] : durations) {
        const auto it = args->values.find(key);
        if (it == args->values.end()) continue;
        const auto d = iot::parse_duration(it->second);
        if (!d) {
            std::fprintf(stderr, "--%s: expected a duration like 30s, got %s\n", key, it->second.c_str());
            return kExitUsage;
        }
        *target = *d;
    }
    if (args->strict && !args->no_throttle) {
        options.push_rate = kCloudPushRate;
        options.backlog_rate = kCloudBacklogRate;
    }
    const std::pair<const char*, double*> rates[] = {{"push-rate", &options.push_rate},
                                                     {"backlog-rate", &options.backlog_rate}};
    for (const auto& [key, target] : rates) {
        const auto it = args->values.find(key);
        if (it == args->values.end()) continue;
        char* end = nullptr;
        const double rate = std::strtod(it->second.c_str(), &end);
        if (it->second.empty() || *end != '\0' || !(rate >= 0)) {
            std::fprintf(stderr, "--%s: expected msg/s (0 = unlimited), got %s\n", key, it->second.c_str());
            return kExitUsage;
        }
        *target = rate;
    }
    try {
        if (const auto it = args->values.find("max-clients"); it != args->values.end())
            options.max_clients_per_group = std::stoul(it->second);
        if (const auto it = args->values.find("max-attempts-per-minute"); it != args->values.end())
            options.max_attempts_per_minute = std::stoul(it->second);
        if (const auto it = args->values.find("iotda-max-connections"); it != args->values.end())
            options.iotda.max_connections_per_key = std::stoul(it->second);
        if (const auto it = args->values.find("iotda-max-links"); it != args->values.end())
            options.iotda.max_links_per_connection = std::stoul(it->second);
    } catch (const std::exception&) {
        std::fprintf(stderr, "--max-clients / --max-attempts-per-minute / --iotda-max-* take a number\n");
        return kExitUsage;
    }
    const std::pair<const char*, std::uint32_t*> idle_bounds[] = {
        {"iotda-min-idle", &options.iotda.min_idle_timeout_ms}, {"iotda-max-idle", &options.iotda.max_idle_timeout_ms}};
    for (const auto& [key, target] : idle_bounds) {
        const auto it = args->values.find(key);
        if (it == args->values.end()) continue;
        const auto d = iot::parse_duration(it->second);
        if (!d || d->count() <= 0 || d->count() > 0xFFFFFFFFLL) {
            std::fprintf(stderr, "--%s: expected a positive duration like 8s, got %s\n", key, it->second.c_str());
            return kExitUsage;
        }
        *target = static_cast<std::uint32_t>(d->count());
    }

    const std::string log_target = args->values.count("log-file") ? args->values.at("log-file") : "";
    if (log_target.empty()) {
        options.log = std::make_shared<EventLog>(stderr);
    } else if (log_target == "-") {
        options.log = std::make_shared<EventLog>(stdout);
    } else {
        std::FILE* file = std::fopen(log_target.c_str(), "a");
        if (file == nullptr) {
            std::fprintf(stderr, "cannot open log file %s\n", log_target.c_str());
            return 1;
        }
        options.log = std::make_shared<EventLog>(file, true);
    }

    // Signals are read, not handled: block them before any thread exists.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    signal(SIGPIPE, SIG_IGN);

    try {
        options.accounts = std::make_shared<Accounts>(load_accounts(args->values.at("accounts")));
        Emulator emulator(options);
        const std::uint16_t port = emulator.start();
        std::atomic<bool> quit{false};
        ControlHandler handler(emulator, [&quit] { quit = true; });
        ControlServer control(args->values.at("control"), handler);
        if (const auto it = args->values.find("port-file");
            it != args->values.end() && !write_port_file(it->second, port)) {
            std::fprintf(stderr, "cannot write port file %s\n", it->second.c_str());
            return 1;
        }
        options.log->write("listening", 0,
                           "port=" + std::to_string(port) + " strict=" + (args->strict ? "true" : "false") +
                               " push_rate=" + std::to_string(static_cast<long>(options.push_rate)) +
                               " backlog_rate=" + std::to_string(static_cast<long>(options.backlog_rate)) +
                               " instance=" + (options.accounts->legacy() ? "legacy" : options.accounts->instance_id) +
                               " iotda=" + (options.accounts->iotda ? "on" : "off"));
        while (!quit) {
            const timespec poll_interval{0, 100'000'000};
            siginfo_t info;
            if (sigtimedwait(&signals, &info, &poll_interval) > 0) break;
        }
        options.log->write("stopping", 0, "");
        control.stop();
        emulator.stop();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "iot-amqpd-emulator: %s\n", e.what());
        return 1;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc >= 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc >= 2 && std::strcmp(argv[1], "ctl") == 0) return run_ctl(argc, argv);
    if (argc >= 2 && std::strcmp(argv[1], "bench") == 0) return run_bench(argc, argv);
    return run_server(argc, argv);
}
