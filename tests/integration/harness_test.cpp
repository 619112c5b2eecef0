// Self-tests of the integration harness (tests/support) that need neither the
// daemon nor the emulator: if these fail, no scenario result can be trusted.

#include <linux/magic.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <thread>

#include "daemon_config.hpp"
#include "delivery_audit.hpp"
#include "iot-amqpd/signer.hpp"
#include "journal_reader.hpp"
#include "journald.hpp"
#include "notify_listener.hpp"
#include "scenario.hpp"
#include "subprocess.hpp"
#include "temp_dir.hpp"
#include "wait_until.hpp"

namespace iot::test {
namespace {

using namespace std::chrono_literals;

std::string unique_identifier(const std::string& prefix) {
    std::random_device random;
    return prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(random());
}

// sd_journal_sendv with exact byte strings, so binary values can be tested.
int send_entry(const std::vector<std::string>& fields) {
    std::vector<iovec> vectors;
    for (const auto& field : fields) {
        vectors.push_back({const_cast<char*>(field.data()), field.size()});
    }
    return sd_journal_sendv(vectors.data(), static_cast<int>(vectors.size()));
}

void send_datagram(const std::filesystem::path& socket_path, const std::string& text) {
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, socket_path.c_str(), sizeof address.sun_path - 1);
    const auto sent =
        ::sendto(fd, text.data(), text.size(), 0, reinterpret_cast<const sockaddr*>(&address), sizeof address);
    ::close(fd);
    ASSERT_EQ(sent, static_cast<ssize_t>(text.size())) << std::strerror(errno);
}

// ---- temp dir and wait_until ---------------------------------------------------

TEST(HarnessTempDir, IsPrivateAndRemovedWithItsContents) {
    std::filesystem::path where;
    {
        TempDir dir("iot-harness");
        where = dir.path();
        ASSERT_TRUE(std::filesystem::is_directory(where));
        const auto perms = std::filesystem::status(where).permissions();
        EXPECT_EQ(perms & std::filesystem::perms::all, std::filesystem::perms::owner_all);
        write_file(dir / "a.txt", "hello");
        EXPECT_EQ(read_file(dir / "a.txt").value_or(""), "hello");
        EXPECT_FALSE(read_file(dir / "missing").has_value());
    }
    EXPECT_FALSE(std::filesystem::exists(where));
}

TEST(HarnessWaitUntil, SucceedsWhenTheConditionBecomesTrue) {
    int calls = 0;
    EXPECT_TRUE(wait_until(
        "three calls", [&] { return ++calls >= 3; }, 1000ms, 1ms));
    EXPECT_EQ(calls, 3);
}

TEST(HarnessWaitUntil, FailsWithAMessageNamingWhatItAwaited) {
    const auto start = std::chrono::steady_clock::now();
    const auto result = wait_until(
        "the impossible", [] { return false; }, 100ms, 10ms);
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_FALSE(result);
    EXPECT_NE(std::string(result.message()).find("timed out after 0.100 s waiting for: the impossible"),
              std::string::npos)
        << result.message();
    EXPECT_GE(took, 100ms);
    EXPECT_LT(took, 2s);
}

// ---- subprocess ---------------------------------------------------------------

SpawnOptions shell(const TempDir& dir, const std::string& script) {
    SpawnOptions options;
    options.program = "/bin/sh";
    options.args = {"-c", script};
    options.stdout_file = dir / "out.txt";
    options.stderr_file = dir / "err.txt";
    return options;
}

TEST(HarnessSubprocess, CapturesOutputEnvironmentAndExitCode) {
    TempDir dir;
    auto options = shell(dir, "echo \"out $IOT_HARNESS_VALUE\"; echo \"err ${HOME:-unset}\" >&2; exit 3");
    options.extra_env = {{"IOT_HARNESS_VALUE", "42"}};
    options.removed_env = {"HOME"};
    Subprocess child(options);
    const auto status = child.wait_for(10s);
    ASSERT_TRUE(status.has_value());
    EXPECT_TRUE(status->exited);
    EXPECT_EQ(status->code, 3);
    EXPECT_FALSE(status->clean());
    EXPECT_EQ(child.stdout_text(), "out 42\n");
    EXPECT_EQ(child.stderr_text(), "err unset\n");
}

TEST(HarnessSubprocess, ReportsTheSignalThatEndedIt) {
    TempDir dir;
    Subprocess child(shell(dir, "exec sleep 30"));
    EXPECT_TRUE(child.running());
    EXPECT_FALSE(child.wait_for(50ms).has_value());
    ASSERT_TRUE(child.signal(SIGTERM));
    const auto status = child.wait_for(10s);
    ASSERT_TRUE(status.has_value());
    EXPECT_FALSE(status->exited);
    EXPECT_EQ(status->signal, SIGTERM);
    EXPECT_FALSE(child.signal(SIGTERM)) << "signalling a reaped child must say it is gone";
}

TEST(HarnessSubprocess, KillsAChildThatOutlivesItsTimeout) {
    TempDir dir;
    Subprocess child(shell(dir, "trap '' TERM; echo started; exec sleep 30"));
    ASSERT_TRUE(wait_until(
        "the child's trap to be set", [&] { return child.stdout_text() == "started\n"; }, 10s));
    child.signal(SIGTERM);
    const auto status = child.wait_or_kill(200ms);
    EXPECT_TRUE(status.killed_after_timeout);
    EXPECT_EQ(status.signal, SIGKILL);
    EXPECT_NE(status.to_string().find("after the timeout"), std::string::npos);
}

TEST(HarnessSubprocess, DestructorLeavesNoChildBehind) {
    TempDir dir;
    pid_t pid = -1;
    {
        Subprocess child(shell(dir, "exec sleep 30"));
        pid = child.pid();
        ASSERT_EQ(::kill(pid, 0), 0);
    }
    // Reaped as well as killed: not even a zombie remains.
    EXPECT_EQ(::kill(pid, 0), -1);
    EXPECT_EQ(errno, ESRCH);
}

TEST(HarnessSubprocess, AProgramThatCannotStartThrows) {
    TempDir dir;
    SpawnOptions options;
    options.program = dir / "no-such-program";
    options.stdout_file = dir / "out.txt";
    options.stderr_file = dir / "err.txt";
    EXPECT_THROW(Subprocess{options}, std::runtime_error);
}

// ---- journald and the journal reader ------------------------------------------

class HarnessJournal : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_NO_THROW(pid_ = journald::ensure_running());
        ASSERT_GT(pid_, 0);
    }
    pid_t pid_ = -1;
};

TEST_F(HarnessJournal, EnsureRunningFindsALiveJournaldWithTheRateLimitLifted) {
    EXPECT_EQ(journald::find_pid(), pid_);
    EXPECT_TRUE(journald::socket_accepts());
    const auto dropin = read_file(journald::kDropinPath);
    ASSERT_TRUE(dropin.has_value());
    EXPECT_NE(dropin->find("RateLimitBurst=0"), std::string::npos);
    EXPECT_NE(dropin->find("RateLimitIntervalSec=0"), std::string::npos);
    EXPECT_EQ(journald::ensure_running(), pid_) << "a second call must keep the same journald";
}

TEST_F(HarnessJournal, ReadsBackEveryFieldBinarySafe) {
    const auto identifier = unique_identifier("iot-harness");
    const std::string binary("a\0b\nc", 5);
    ASSERT_EQ(send_entry({"MESSAGE=hello journal", "PRIORITY=6", "SYSLOG_IDENTIFIER=" + identifier,
                          "IOT_BINARY=" + binary, "IOT_EMPTY="}),
              0);
    JournalReader reader(by_identifier(identifier));
    ASSERT_TRUE(reader.wait_for_count(1, 10s));
    ASSERT_EQ(reader.entries().size(), 1u);
    const auto& entry = reader.entries()[0];
    EXPECT_EQ(field_or_empty(entry, "MESSAGE"), "hello journal");
    EXPECT_EQ(field_or_empty(entry, "PRIORITY"), "6");
    EXPECT_EQ(field_or_empty(entry, "IOT_BINARY"), binary);
    EXPECT_EQ(entry.count("IOT_EMPTY"), 1u);
    EXPECT_EQ(field_or_empty(entry, "_PID"), std::to_string(::getpid()));
}

TEST_F(HarnessJournal, FiltersByIdentifierAndPidAndCountsWithoutDuplicates) {
    const auto mine = unique_identifier("iot-harness");
    const auto other = unique_identifier("iot-harness-other");
    constexpr int kCount = 2000;  // past journald's default burst would need the lifted limit at 10 000
    for (int i = 0; i < kCount; ++i) {
        ASSERT_EQ(sd_journal_send("MESSAGE=%d", i, "SYSLOG_IDENTIFIER=%s", mine.c_str(), nullptr), 0);
        if (i % 10 == 0) {
            ASSERT_EQ(sd_journal_send("MESSAGE=noise", "SYSLOG_IDENTIFIER=%s", other.c_str(), nullptr), 0);
        }
    }
    JournalReader reader({{"SYSLOG_IDENTIFIER", {mine}}, {"_PID", {std::to_string(::getpid())}}});
    ASSERT_TRUE(reader.wait_for_count(kCount, 20s));
    // Give polling another chance to (wrongly) return more, then count exactly.
    reader.poll();
    EXPECT_EQ(reader.entries().size(), static_cast<std::size_t>(kCount));
    for (int i = 0; i < kCount; ++i) {
        ASSERT_EQ(field_or_empty(reader.entries()[static_cast<std::size_t>(i)], "MESSAGE"), std::to_string(i));
    }
    EXPECT_EQ(JournalReader::read_all(by_identifier(mine)).size(), static_cast<std::size_t>(kCount));
    EXPECT_EQ(JournalReader::read_all(by_identifier(other)).size(), static_cast<std::size_t>(kCount / 10));
    // An OR of two identifiers.
    EXPECT_EQ(JournalReader::read_all({{"SYSLOG_IDENTIFIER", {mine, other}}}).size(),
              static_cast<std::size_t>(kCount + kCount / 10));
}

TEST_F(HarnessJournal, StderrAsAJournalStreamLooksLikeAService) {
    TempDir dir;
    const auto identifier = unique_identifier("iot-harness-stream");
    SpawnOptions options;
    options.program = "/bin/sh";
    // What a daemon checks: $JOURNAL_STREAM equals the dev:ino of its stderr.
    options.args = {"-c", "echo \"$JOURNAL_STREAM\"; stat -L -c %d:%i /dev/stderr; echo to-the-journal >&2"};
    options.stdout_file = dir / "out.txt";
    options.stderr_journal_identifier = identifier;
    Subprocess child(options);
    ASSERT_TRUE(child.wait_for(10s).value_or(ExitStatus{}).clean());
    const auto out = child.stdout_text();
    const auto newline = out.find('\n');
    ASSERT_NE(newline, std::string::npos) << out;
    EXPECT_FALSE(out.substr(0, newline).empty());
    EXPECT_EQ(out.substr(0, newline) + "\n", out.substr(newline + 1)) << out;

    JournalReader reader(by_identifier(identifier));
    ASSERT_TRUE(reader.wait_for_count(1, 10s));
    EXPECT_EQ(field_or_empty(reader.entries()[0], "MESSAGE"), "to-the-journal");
    EXPECT_EQ(field_or_empty(reader.entries()[0], "_TRANSPORT"), "stdout");
}

TEST_F(HarnessJournal, WaitForCountFailsAndSaysHowManyItFound) {
    const auto identifier = unique_identifier("iot-harness");
    ASSERT_EQ(sd_journal_send("MESSAGE=only one", "SYSLOG_IDENTIFIER=%s", identifier.c_str(), nullptr), 0);
    JournalReader reader(by_identifier(identifier));
    const auto result = reader.wait_for_count(2, 300ms);
    EXPECT_FALSE(result);
    EXPECT_NE(std::string(result.message()).find("(found 1)"), std::string::npos) << result.message();
}

TEST_F(HarnessJournal, PausedJournaldWritesNothingUntilResumed) {
    const auto identifier = unique_identifier("iot-harness");
    JournalReader reader(by_identifier(identifier));
    {
        journald::PauseGuard paused(pid_);
        // A datagram send succeeds into the socket buffer even while journald is stopped.
        ASSERT_EQ(sd_journal_send("MESSAGE=while paused", "SYSLOG_IDENTIFIER=%s", identifier.c_str(), nullptr), 0);
        EXPECT_FALSE(reader.wait_for_count(1, 500ms)) << "a stopped journald must not write";
        paused.resume_now();
        EXPECT_TRUE(reader.wait_for_count(1, 10s));
    }
    EXPECT_EQ(reader.entries().size(), 1u);
}

TEST_F(HarnessJournal, ReaderFollowsARestartedJournald) {
    if (::geteuid() != 0) GTEST_SKIP() << "restarting journald needs root";
    const auto identifier = unique_identifier("iot-harness");
    JournalReader reader(by_identifier(identifier));
    ASSERT_EQ(sd_journal_send("MESSAGE=before", "SYSLOG_IDENTIFIER=%s", identifier.c_str(), nullptr), 0);
    ASSERT_TRUE(reader.wait_for_count(1, 10s));

    pid_t new_pid = -1;
    ASSERT_NO_THROW(new_pid = journald::restart(pid_));
    EXPECT_NE(new_pid, pid_);
    EXPECT_EQ(journald::find_pid(), new_pid);
    EXPECT_TRUE(journald::socket_accepts());

    ASSERT_EQ(sd_journal_send("MESSAGE=after", "SYSLOG_IDENTIFIER=%s", identifier.c_str(), nullptr), 0);
    ASSERT_TRUE(reader.wait_for_count(2, 10s));
    EXPECT_EQ(field_or_empty(reader.entries()[1], "MESSAGE"), "after");
    EXPECT_EQ(JournalReader::read_all(by_identifier(identifier)).size(), 2u);
}

// ---- the test's own journald: namespace, socket shapes, options ------------------

// A datagram socket connected to journald's native socket, like the daemon's
// JournalWriter: sends fail with ECONNREFUSED once nobody reads the socket.
class NativeSender {
public:
    NativeSender() : fd_(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::strncpy(address.sun_path, journald::kSocketPath, sizeof address.sun_path - 1);
        connected_ = ::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
    }
    ~NativeSender() { ::close(fd_); }
    NativeSender(const NativeSender&) = delete;
    NativeSender& operator=(const NativeSender&) = delete;

    [[nodiscard]] bool connected() const { return connected_; }
    // 0 or the errno of the failed send.
    int send(const std::string& identifier, const std::string& message, int priority = 6) {
        const std::string entry = "MESSAGE=" + message + "\nPRIORITY=" + std::to_string(priority) +
                                  "\nSYSLOG_IDENTIFIER=" + identifier + "\n";
        return ::send(fd_, entry.data(), entry.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(entry.size()) ? 0 : errno;
    }

private:
    int fd_;
    bool connected_ = false;
};

bool on_tmpfs(const std::filesystem::path& path) {
    struct statfs info {};
    return ::statfs(path.c_str(), &info) == 0 && info.f_type == TMPFS_MAGIC;
}

TEST(HarnessPrivateJournald, RunsInAMountNamespaceOfItsOwnOnPrivateFileSystems) {
    const auto pid = journald::find_pid();
    ASSERT_TRUE(pid.has_value());
    const auto ours = std::filesystem::read_symlink("/proc/self/ns/mnt");
    EXPECT_EQ(std::filesystem::read_symlink("/proc/" + std::to_string(*pid) + "/ns/mnt"), ours);
    // Our parent (ctest, a shell) is in the namespace we left.
    std::error_code error;
    const auto parents = std::filesystem::read_symlink("/proc/" + std::to_string(::getppid()) + "/ns/mnt", error);
    if (!error) {
        EXPECT_NE(parents, ours) << "the tests must not share the host's mounts";
    }
    for (const char* path : {journald::kSocketDirectory, journald::kDropinDirectory, journald::kRuntimeJournalDirectory,
                             journald::kSystemJournalDirectory}) {
        EXPECT_TRUE(on_tmpfs(path)) << path;
    }
    // The host's configuration is hidden: only our drop-in is read.
    for (const auto& entry : std::filesystem::directory_iterator(journald::kDropinDirectory)) {
        EXPECT_EQ(entry.path(), journald::kDropinPath);
    }
    if (std::filesystem::is_directory("/etc/systemd/journald.conf.d")) {
        EXPECT_TRUE(std::filesystem::is_empty("/etc/systemd/journald.conf.d"));
    }
    // A network namespace of its own: journald's queue is the kernel's 10
    // datagrams whatever the host set (systemd sets 512), and the network
    // is loopback only.
    const auto parents_net = std::filesystem::read_symlink("/proc/" + std::to_string(::getppid()) + "/ns/net", error);
    if (!error) {
        EXPECT_NE(parents_net, std::filesystem::read_symlink("/proc/self/ns/net"));
    }
    EXPECT_EQ(read_file("/proc/sys/net/unix/max_dgram_qlen").value_or(""), "10\n");
}

TEST(HarnessPrivateJournald, AKilledStandaloneJournaldTakesItsQueueAlong) {
    const auto identifier = unique_identifier("iot-harness-standalone");
    journald::Options options;
    options.socket = journald::SocketShape::standalone;
    const pid_t pid = journald::restart(options);
    NativeSender sender;
    ASSERT_TRUE(sender.connected());
    {
        journald::PauseGuard paused(pid);
        ASSERT_EQ(sender.send(identifier, "queued"), 0);
        ASSERT_TRUE(journald::kill_and_wait(pid, SIGKILL));
    }
    EXPECT_EQ(sender.send(identifier, "while down"), ECONNREFUSED) << "nobody holds the socket of a dead journald";
    (void)journald::ensure_running();
    NativeSender again;
    ASSERT_EQ(again.send(identifier, "after"), 0);
    JournalReader reader(by_identifier(identifier));
    ASSERT_TRUE(reader.wait_for_count(1, 10s));
    EXPECT_EQ(reader.entries().size(), 1u);
    EXPECT_EQ(field_or_empty(reader.entries()[0], "MESSAGE"), "after") << "the queued entry died with journald";
}

TEST(HarnessPrivateJournald, AHeldSocketKeepsAKilledJournaldsQueueForTheNextOne) {
    const auto identifier = unique_identifier("iot-harness-held");
    journald::Options options;
    options.socket = journald::SocketShape::held_by_parent;
    const pid_t pid = journald::restart(options);
    NativeSender sender;
    ASSERT_TRUE(sender.connected());
    {
        journald::PauseGuard paused(pid);
        ASSERT_EQ(sender.send(identifier, "queued"), 0);
        ASSERT_TRUE(journald::kill_and_wait(pid, SIGKILL));
    }
    EXPECT_TRUE(journald::socket_accepts()) << "we hold the socket, as PID 1 does";
    EXPECT_EQ(sender.send(identifier, "while down"), 0) << "the same socket takes datagrams while journald is down";
    const pid_t next = journald::ensure_running();
    EXPECT_NE(next, pid);
    ASSERT_EQ(sender.send(identifier, "after"), 0) << "the daemon's connected socket still reaches journald";
    JournalReader reader(by_identifier(identifier));
    ASSERT_TRUE(reader.wait_for_count(3, 10s));
    std::vector<std::string> messages;
    for (const auto& entry : reader.entries()) messages.push_back(field_or_empty(entry, "MESSAGE"));
    EXPECT_EQ(messages, (std::vector<std::string>{"queued", "while down", "after"}));
}

TEST(HarnessPrivateJournald, RestartsWithStorageExtraLinesAndAFileSystemSize) {
    const auto identifier = unique_identifier("iot-harness-options");
    journald::Options options;
    options.storage = journald::Storage::persistent;
    options.extra_journal_lines = {"MaxLevelStore=warning"};
    options.journal_filesystem_bytes = 32u << 20;
    (void)journald::restart(options);
    EXPECT_EQ(journald::current_options(), options);
    ASSERT_EQ(journald::journal_directory(), std::filesystem::path(journald::kSystemJournalDirectory));

    struct statvfs size {};
    ASSERT_EQ(::statvfs(journald::kSystemJournalDirectory, &size), 0);
    EXPECT_EQ(static_cast<std::uint64_t>(size.f_blocks) * size.f_frsize, 32u << 20);
    const auto dropin = read_file(journald::kDropinPath).value_or("");
    EXPECT_NE(dropin.find("Storage=persistent"), std::string::npos) << dropin;
    EXPECT_NE(dropin.find("MaxLevelStore=warning"), std::string::npos) << dropin;

    NativeSender sender;
    ASSERT_EQ(sender.send(identifier, "info, not stored", 6), 0);
    ASSERT_EQ(sender.send(identifier, "warning, stored", 4), 0);
    JournalReader reader(by_identifier(identifier));
    ASSERT_TRUE(reader.wait_for_count(1, 10s));
    EXPECT_EQ(reader.entries().size(), 1u);
    EXPECT_EQ(field_or_empty(reader.entries()[0], "MESSAGE"), "warning, stored");
    bool files_in_var = false;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(journald::kSystemJournalDirectory)) {
        files_in_var = files_in_var || entry.path().extension() == ".journal";
    }
    EXPECT_TRUE(files_in_var) << "Storage=persistent writes to /var/log/journal";

    // Back to the defaults: the file system grows back, the files stay.
    (void)journald::restart(journald::Options{});
    ASSERT_EQ(::statvfs(journald::kSystemJournalDirectory, &size), 0);
    EXPECT_GT(static_cast<std::uint64_t>(size.f_blocks) * size.f_frsize, 32u << 20);
    EXPECT_EQ(JournalReader::read_all(by_identifier(identifier)).size(), 1u);
}

// ---- notify listener -------------------------------------------------------------

TEST(HarnessNotify, CollectsDatagramsWithTimes) {
    TempDir dir;
    NotifyListener listener(dir / "notify.sock");
    EXPECT_FALSE(listener.wait_for("READY=1", 100ms)) << "nothing was sent yet";

    send_datagram(listener.socket_path(), "READY=1\nSTATUS=starting");
    ASSERT_TRUE(listener.wait_for("READY=1", 5s));
    EXPECT_EQ(listener.last_value("STATUS"), "starting");

    for (int i = 0; i < 3; ++i) {
        send_datagram(listener.socket_path(), "WATCHDOG=1");
        ASSERT_TRUE(listener.wait_for("WATCHDOG=1", 5s, static_cast<std::size_t>(i + 1)));
        std::this_thread::sleep_for(50ms);  // a known gap to measure
    }
    send_datagram(listener.socket_path(), "STATUS=2/2 groups connected");
    ASSERT_TRUE(wait_until(
        "the second STATUS", [&] { return listener.last_value("STATUS") == "2/2 groups connected"; }, 5s));

    EXPECT_EQ(listener.count("WATCHDOG=1"), 3u);
    EXPECT_EQ(listener.count("READY=1"), 1u);
    EXPECT_EQ(listener.count("STATUS=starting"), 1u);
    EXPECT_EQ(listener.count("WATCHDOG"), 0u) << "lines match whole, not by prefix";
    const auto gaps = listener.intervals("WATCHDOG=1");
    ASSERT_EQ(gaps.size(), 2u);
    for (const auto gap : gaps) EXPECT_GE(gap, 50ms);
    EXPECT_NE(listener.transcript().find("2/2 groups connected"), std::string::npos);
}

TEST(HarnessNotify, ReceivesFromSdNotifyAndFiltersByTime) {
    TempDir dir;
    NotifyListener listener(dir / "notify.sock");
    send_datagram(listener.socket_path(), "RELOADING=1\nMONOTONIC_USEC=123");
    ASSERT_TRUE(listener.wait_for("RELOADING=1", 5s));
    const auto later = std::chrono::steady_clock::now();
    EXPECT_FALSE(listener.wait_for_since("RELOADING=1", later, 100ms));

    // The daemon uses libsystemd's sd_notify, which reads $NOTIFY_SOCKET.
    ::setenv("NOTIFY_SOCKET", listener.socket_path().c_str(), 1);
    const int sent = sd_notify(0, "READY=1");
    ::unsetenv("NOTIFY_SOCKET");
    ASSERT_GT(sent, 0);
    EXPECT_TRUE(listener.wait_for_since("READY=1", later, 5s));
    EXPECT_EQ(listener.datagrams_since(later).size(), 1u);
    EXPECT_EQ(listener.last_value("MONOTONIC_USEC"), "123");
}

// ---- delivery audit and config builder ---------------------------------------------

JournalEntry message_entry(const std::string& id, const std::string& group = "factory-a") {
    return {{"MESSAGE", "{}"},
            {"PRIORITY", "6"},
            {"SYSLOG_IDENTIFIER", "iot-msg-test"},
            {"IOT_CONSUMER_GROUP", group},
            {"IOT_CONSUMER_GROUP_ID", "CG-" + group},
            {"IOT_TOPIC", "/a1/dev/thing/event/property/post"},
            {"IOT_MESSAGE_ID", id},
            {"IOT_GENERATE_TIME", "1"},
            {"IOT_CLIENT_ID", "host-" + group},
            {"IOT_PAYLOAD_ENCODING", "utf-8"}};
}

TEST(HarnessAudit, AcceptsExactlyOnceWithEveryField) {
    const std::vector<JournalEntry> entries = {message_entry("m1"), message_entry("m2"), message_entry("m3", "b")};
    const auto audit =
        audit_delivery(entries, numbered_ids("m", 3), "iot-msg-test", {{"factory-a", "CG-factory-a"}, {"b", "CG-b"}});
    EXPECT_TRUE(exactly_once(audit));
}

TEST(HarnessAudit, ReportsMissingDuplicatedUnexpectedAndMalformed) {
    auto no_topic = message_entry("m4");
    no_topic.erase("IOT_TOPIC");
    auto bad_base64 = message_entry("m5");
    bad_base64["IOT_PAYLOAD_ENCODING"] = "base64";
    auto wrong_group_id = message_entry("m6");
    wrong_group_id["IOT_CONSUMER_GROUP_ID"] = "CG-other";
    const std::vector<JournalEntry> entries = {message_entry("m1"), message_entry("m1"), message_entry("x9"), no_topic,
                                               bad_base64,          wrong_group_id};
    const auto audit = audit_delivery(entries, numbered_ids("m", 6), "iot-msg-test", {{"factory-a", "CG-factory-a"}});
    EXPECT_FALSE(exactly_once(audit));
    EXPECT_EQ(audit.missing, (std::vector<std::string>{"m2", "m3"}));
    EXPECT_EQ(audit.duplicated, (std::map<std::string, std::size_t>{{"m1", 2}}));
    EXPECT_EQ(audit.unexpected, (std::vector<std::string>{"x9"}));
    ASSERT_EQ(audit.malformed.size(), 3u) << audit.report();
    EXPECT_NE(audit.malformed[0].find("no IOT_TOPIC"), std::string::npos);
    EXPECT_NE(audit.malformed[1].find("base64: prefix"), std::string::npos);
    EXPECT_NE(audit.malformed[2].find("IOT_CONSUMER_GROUP_ID"), std::string::npos);
    EXPECT_NE(audit.report().find("2 missing, 1 duplicated, 1 unexpected, 3 malformed"), std::string::npos)
        << audit.report();
}

TEST(HarnessConfig, WritesEveryGroupAndQuotesStrings) {
    DaemonConfig config;
    config.endpoint = "amqps://localhost:5671";
    config.access_key_id = "LTAI_TEST";
    config.access_key_secret_file = "/tmp/x/secret";
    config.syslog_identifier = "iot-msg \"quoted\"";
    config.add_group("a", "CG1", 2).credit = 10;
    config.add_group("b", "CG2");
    EXPECT_TRUE(config.remove_group("b"));
    EXPECT_FALSE(config.remove_group("b"));
    const auto yaml = config.to_yaml();
    EXPECT_NE(yaml.find("  - name: \"a\"\n    consumer_group_id: \"CG1\"\n    connections: 2\n    credit: 10\n"),
              std::string::npos)
        << yaml;
    EXPECT_EQ(yaml.find("CG2"), std::string::npos) << yaml;
    EXPECT_NE(yaml.find("syslog_identifier: \"iot-msg \\\"quoted\\\"\""), std::string::npos) << yaml;
}

// ---- the scenario fixture, without a daemon --------------------------------------

TEST(HarnessScenario, StartsTheEmulatorAndDrivesItsControlSocket) {
    Scenario scenario;
    EXPECT_GT(scenario.emulator_port(), 0);
    const auto reply = scenario.publish("CG-A", 25, "h-");
    EXPECT_EQ(reply["first_id"].as_string(), "h-1");
    EXPECT_EQ(reply["last_id"].as_string(), "h-25");
    const auto counters = scenario.counters("CG-A");
    EXPECT_EQ(counters.published, 25);
    EXPECT_EQ(counters.accepted, 0);
    EXPECT_EQ(counters.connections, 0);
    EXPECT_FALSE(scenario.wait_all_accepted({"CG-A"}, 300ms)) << "nobody consumes: it must not pass";
    EXPECT_THROW(scenario.emulator("no_such_command"), std::runtime_error);
}

TEST(HarnessScenario, SecretScanCatchesTheSecretAndAnySaslPassword) {
    Scenario scenario;
    const auto& identifier = scenario.message_identifier();
    ASSERT_EQ(sd_journal_send("MESSAGE=harmless", "SYSLOG_IDENTIFIER=%s", identifier.c_str(), nullptr), 0);
    ASSERT_TRUE(scenario.messages().wait_for_count(1, 10s));
    EXPECT_TRUE(scenario.no_secret_leaked());

    // A password signed a moment ago, as a daemon would compute it.
    const auto now_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    const Secret secret(scenario.correct_secret());
    const auto password =
        hmac_base64(SignMethod::hmacsha256, secret, string_to_sign(scenario.access_key_id(), nullptr, now_ms - 1234));
    ASSERT_EQ(sd_journal_send("MESSAGE=user=x password=%s", std::string(password.reveal()).c_str(),
                              "SYSLOG_IDENTIFIER=%s", identifier.c_str(), nullptr),
              0);
    ASSERT_TRUE(scenario.messages().wait_for_count(2, 10s));
    const auto caught = scenario.no_secret_leaked();
    EXPECT_FALSE(caught);
    EXPECT_NE(std::string(caught.message()).find("SASL password"), std::string::npos) << caught.message();
}

TEST(HarnessScenario, SecretScanCatchesEverySecretEverWritten) {
    Scenario scenario;
    const std::string old_secret = "old-secret-" + scenario.run_id();
    scenario.write_secret(old_secret);
    scenario.write_secret(scenario.correct_secret());
    ASSERT_EQ(sd_journal_send("MESSAGE=leaked %s", old_secret.c_str(), "SYSLOG_IDENTIFIER=%s",
                              scenario.message_identifier().c_str(), nullptr),
              0);
    ASSERT_TRUE(scenario.messages().wait_for_count(1, 10s));
    EXPECT_FALSE(scenario.no_secret_leaked());
    EXPECT_EQ(scenario.diagnostics().find(old_secret), std::string::npos) << "diagnostics must redact secrets";
}

}  // namespace
}  // namespace iot::test
