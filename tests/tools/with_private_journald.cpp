// with-private-journald: runs a command with a systemd-journald of its own, in
// a private mount namespace (tests/support/private_journald.hpp), so that the
// command's journal entries go to a journal on a tmpfs that disappears with
// it, and the host's journald, its configuration and its journal are left
// alone. scripts/demo.sh and bench/run.sh use it; the integration tests use
// the same code in-process. Needs root.
//
//   with-private-journald [--storage=volatile|persistent|none|auto]
//                         [--journal-size=BYTES[k|m|g]] [--journal-line=Key=Value]...
//                         [--held-socket] [--dgram-qlen=N] -- COMMAND [ARG]...
//
// --dgram-qlen sets net.unix.max_dgram_qlen in the private network namespace
// before journald makes its socket (a fresh namespace has the kernel's 10; a
// host booted by systemd has 512).
//
// Exits with COMMAND's status (128 + signal when a signal ended it). SIGINT is
// left to COMMAND (a terminal sends it to the whole foreground group);
// SIGTERM and SIGHUP are passed on to it. journald is stopped at the end.
//
// Thread: single-threaded.

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

#include "private_journald.hpp"

namespace {

using iot::test::journald::Options;

volatile sig_atomic_t command_pid = 0;

void pass_on(int signal_number) {
    if (command_pid > 0) ::kill(command_pid, signal_number);
}

constexpr const char* kUsage =
    "usage: with-private-journald [--storage=volatile|persistent|none|auto] [--journal-size=BYTES[k|m|g]]\n"
    "                             [--journal-line=Key=Value]... [--held-socket] [--dgram-qlen=N] -- COMMAND [ARG]...\n";

[[noreturn]] void usage(const std::string& problem) {
    std::fprintf(stderr, "with-private-journald: %s\n%s", problem.c_str(), kUsage);
    std::exit(2);
}

std::uint64_t parse_size(const std::string& text) {
    char* end = nullptr;
    const auto value = std::strtoull(text.c_str(), &end, 10);
    const std::string suffix = end != nullptr ? end : "";
    if (end == text.c_str()) usage("bad size: " + text);
    if (suffix.empty()) return value;
    if (suffix == "k" || suffix == "K") return value << 10;
    if (suffix == "m" || suffix == "M") return value << 20;
    if (suffix == "g" || suffix == "G") return value << 30;
    usage("bad size suffix: " + text);
}

iot::test::journald::Storage parse_storage(const std::string& text) {
    using iot::test::journald::Storage;
    for (const auto storage : {Storage::volatile_files, Storage::persistent, Storage::none, Storage::automatic}) {
        if (iot::test::journald::to_string(storage) == text) return storage;
    }
    usage("bad storage: " + text);
}

// The command with our stdio, in the namespace, killed if we die.
pid_t spawn(char** command) {
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
        std::perror("with-private-journald: fork");
        std::exit(1);
    }
    if (pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (::getppid() != parent) ::_exit(127);
        std::signal(SIGINT, SIG_DFL);  // we ignore it; exec would pass the ignoring on
        std::signal(SIGTERM, SIG_DFL);
        std::signal(SIGHUP, SIG_DFL);
        ::execvp(command[0], command);
        std::fprintf(stderr, "with-private-journald: cannot run %s: %s\n", command[0], std::strerror(errno));
        ::_exit(127);
    }
    return pid;
}

void write_sysctl(const char* path, const std::string& value) {
    std::FILE* file = std::fopen(path, "w");
    const bool written = file != nullptr && std::fputs(value.c_str(), file) >= 0;
    if (file == nullptr || std::fclose(file) != 0 || !written)
        throw std::runtime_error(std::string("cannot write ") + path + ": " + std::strerror(errno));
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    std::string dgram_qlen;
    int first = 1;
    for (; first < argc; ++first) {
        const std::string argument = argv[first];
        if (argument == "--help") {
            std::fputs(kUsage, stdout);
            return 0;
        }
        if (argument == "--") {
            ++first;
            break;
        }
        if (argument.rfind("--storage=", 0) == 0) {
            options.storage = parse_storage(argument.substr(10));
        } else if (argument.rfind("--journal-size=", 0) == 0) {
            options.journal_filesystem_bytes = parse_size(argument.substr(15));
        } else if (argument.rfind("--journal-line=", 0) == 0) {
            options.extra_journal_lines.push_back(argument.substr(15));
        } else if (argument.rfind("--dgram-qlen=", 0) == 0) {
            dgram_qlen = argument.substr(13);
            if (dgram_qlen.empty() || dgram_qlen.find_first_not_of("0123456789") != std::string::npos)
                usage("bad queue length: " + dgram_qlen);
        } else if (argument == "--held-socket") {
            options.socket = iot::test::journald::SocketShape::held_by_parent;
        } else {
            usage("unknown option " + argument);
        }
    }
    if (first >= argc) usage("no command");

    auto& journald = iot::test::journald::PrivateJournald::instance();
    try {
        iot::test::journald::enter_private_mount_namespace();
        if (!dgram_qlen.empty()) write_sysctl("/proc/sys/net/unix/max_dgram_qlen", dgram_qlen);
        journald.start(options);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "with-private-journald: %s\n", e.what());
        return 1;
    }

    std::signal(SIGINT, SIG_IGN);
    struct sigaction forward {};
    forward.sa_handler = pass_on;
    ::sigemptyset(&forward.sa_mask);
    ::sigaction(SIGTERM, &forward, nullptr);
    ::sigaction(SIGHUP, &forward, nullptr);

    const pid_t pid = spawn(argv + first);
    command_pid = pid;
    int raw = 0;
    while (::waitpid(pid, &raw, 0) < 0 && errno == EINTR) {}
    command_pid = 0;
    journald.stop();
    if (WIFEXITED(raw)) return WEXITSTATUS(raw);
    return WIFSIGNALED(raw) ? 128 + WTERMSIG(raw) : 1;
}
