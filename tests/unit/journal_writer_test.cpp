// The native-protocol writer against a real AF_UNIX datagram socket standing
// in for journald's, so framing, the memfd path and errors are checked for real.
#include "iot-amqpd/journal_writer.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace iot {
namespace {

class FakeJournal {
public:
    FakeJournal() {
        char tmpl[] = "/tmp/iot-journal-test-XXXXXX";
        dir_ = ::mkdtemp(tmpl);
        path_ = dir_ + "/socket";
        bind_socket();
    }
    // A journald that died and was started again: a new socket at the same path.
    void restart() {
        close_socket();
        ::unlink(path_.c_str());
        bind_socket();
    }
    void bind_socket() {
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
        EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
        timeval tv{5, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    }
    ~FakeJournal() {
        close_socket();
        ::unlink(path_.c_str());
        ::rmdir(dir_.c_str());
    }
    // Takes the next datagram and returns its size, e.g. 0 for a probe.
    std::size_t receive_size() {
        char buf[1 << 16];
        const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
        EXPECT_GE(n, 0) << std::strerror(errno);
        return n < 0 ? 0 : static_cast<std::size_t>(n);
    }
    void close_socket() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }
    [[nodiscard]] const std::string& path() const { return path_; }

    // One entry's raw bytes, whether sent inline or as a memfd.
    std::string receive() {
        std::vector<char> buf(1 << 20);
        iovec iov{buf.data(), buf.size()};
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof(control);
        const ssize_t n = ::recvmsg(fd_, &msg, 0);
        EXPECT_GE(n, 0) << std::strerror(errno);
        if (n < 0) return {};
        if (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr && c->cmsg_type == SCM_RIGHTS) {
            int memfd = -1;
            std::memcpy(&memfd, CMSG_DATA(c), sizeof(int));
            struct stat st {};
            ::fstat(memfd, &st);
            std::string data(static_cast<std::size_t>(st.st_size), '\0');
            EXPECT_EQ(::pread(memfd, data.data(), data.size(), 0), st.st_size);
            EXPECT_NE(::fcntl(memfd, F_GET_SEALS) & F_SEAL_WRITE, 0) << "journald only takes sealed memfds";
            ::close(memfd);
            return data;
        }
        return std::string(buf.data(), static_cast<std::size_t>(n));
    }

private:
    std::string dir_;
    std::string path_;
    int fd_ = -1;
};

// Parses the native protocol: NAME=value\n, or NAME\n<le64 size>value\n.
std::map<std::string, std::string> parse(const std::string& data) {
    std::map<std::string, std::string> out;
    std::size_t pos = 0;
    while (pos < data.size()) {
        const std::size_t nl = data.find('\n', pos);
        const std::size_t eq = data.find('=', pos);
        if (eq != std::string::npos && eq < nl) {
            out[data.substr(pos, eq - pos)] = data.substr(eq + 1, nl - eq - 1);
            pos = nl + 1;
        } else {
            const std::string name = data.substr(pos, nl - pos);
            std::uint64_t size = 0;
            std::memcpy(&size, data.data() + nl + 1, sizeof(size));
            out[name] = data.substr(nl + 9, le64toh(size));
            EXPECT_EQ(data[nl + 9 + le64toh(size)], '\n');
            pos = nl + 10 + le64toh(size);
        }
    }
    return out;
}

TEST(JournalWriter, SendsFieldsInTheNativeProtocol) {
    FakeJournal journal;
    JournalWriter writer(journal.path());
    const std::vector<JournalField> fields = {{"MESSAGE", "hello\nworld"}, {"PRIORITY", "6"}, {"IOT_TOPIC", "/a/b/c"}};
    ASSERT_EQ(writer.send(fields), 0);
    const auto got = parse(journal.receive());
    EXPECT_EQ(got.at("MESSAGE"), "hello\nworld");
    EXPECT_EQ(got.at("PRIORITY"), "6");
    EXPECT_EQ(got.at("IOT_TOPIC"), "/a/b/c");
}

TEST(JournalWriter, LargeEntriesTravelAsASealedMemfd) {
    FakeJournal journal;
    JournalWriter writer(journal.path());
    const std::string body(10 * 1024 * 1024, 'x');
    ASSERT_EQ(writer.send({{"MESSAGE", body}, {"PRIORITY", "6"}}), 0);
    const auto got = parse(journal.receive());
    EXPECT_EQ(got.at("MESSAGE").size(), body.size());
    EXPECT_EQ(got.at("PRIORITY"), "6");
}

TEST(JournalWriter, ReportsAMissingJournalInsteadOfPretending) {
    JournalWriter writer("/nonexistent/iot-amqpd/journal/socket");
    EXPECT_EQ(writer.send({{"MESSAGE", "x"}}), ENOENT);
}

TEST(JournalWriter, ReportsAJournalThatStoppedListening) {
    FakeJournal journal;
    JournalWriter writer(journal.path());
    ASSERT_EQ(writer.send({{"MESSAGE", "first"}}), 0);
    journal.close_socket();  // the socket file stays, nobody reads it: journald was killed
    EXPECT_EQ(writer.send({{"MESSAGE", "second"}}), ECONNREFUSED);
}

// journald stores or drops an entry before it reads the next datagram: an
// entry is decided once a later datagram has left the queue.
TEST(JournalWriter, AnEntryIsDecidedOnceJournaldReadALaterDatagram) {
    FakeJournal journal;
    JournalWriter writer(journal.path());
    ASSERT_EQ(writer.send({{"MESSAGE", "one"}}), 0);
    ASSERT_EQ(writer.send({{"MESSAGE", "two"}}), 0);
    EXPECT_EQ(writer.last_sent(), 2u);
    writer.poll();
    EXPECT_EQ(writer.decided_through(), 0u) << "both still sit in the socket queue";
    EXPECT_NE(journal.receive_size(), 0u);
    writer.poll();
    EXPECT_EQ(writer.decided_through(), 0u) << "one was read and may still be being stored";
    EXPECT_NE(journal.receive_size(), 0u);
    writer.poll();
    EXPECT_EQ(writer.decided_through(), 1u);
    EXPECT_EQ(journal.receive_size(), 0u) << "the probe is an empty datagram, which journald ignores";
    writer.poll();
    EXPECT_EQ(writer.decided_through(), 2u);
}

std::string encoded(const std::vector<JournalField>& fields) {
    std::string out;
    encode_journal_entry(fields, out);
    return out;
}

// What the sink's write-ahead rests on: a full queue refuses a datagram at
// once, sends nothing, and counts what journald has not read.
TEST(JournalWriter, TrySendRefusesAtOnceWhenTheQueueIsFullAndLosesNothing) {
    FakeJournal journal;
    JournalWriter writer(journal.path());
    const std::string body(1000, 'x');
    // No queue holds this many (max_dgram_qlen is 10 by default, 512 under
    // systemd; the send buffer takes ~100 of these): the loop is bounded.
    constexpr std::uint64_t kMost = 5000;
    int err = 0;
    while (writer.last_sent() < kMost && (err = writer.try_send(encoded({{"MESSAGE", body}}))) == 0) {}
    ASSERT_EQ(err, EAGAIN) << "the queue never filled";
    const std::uint64_t queued = writer.last_sent();
    EXPECT_GT(queued, 0U);
    EXPECT_EQ(writer.unread(), queued) << "journald read none of them";
    EXPECT_EQ(writer.try_send(encoded({{"MESSAGE", "more"}})), EAGAIN);
    EXPECT_EQ(writer.last_sent(), queued) << "a refused datagram is not numbered";
    EXPECT_NE(journal.receive_size(), 0U);
    EXPECT_EQ(writer.try_send(encoded({{"MESSAGE", "more"}})), 0) << "room for one again";
    for (std::uint64_t i = 1; i < queued; ++i) EXPECT_NE(journal.receive_size(), 0U);
    EXPECT_EQ(journal.receive(), encoded({{"MESSAGE", "more"}})) << "all in order, none lost";
}

TEST(JournalWriter, AKilledJournaldDecidesEverythingItWasSent) {
    FakeJournal journal;
    JournalWriter writer(journal.path());
    ASSERT_EQ(writer.send({{"MESSAGE", "one"}}), 0);
    ASSERT_EQ(writer.send({{"MESSAGE", "two"}}), 0);
    ASSERT_EQ(writer.send({{"MESSAGE", "three"}}), 0);
    EXPECT_NE(journal.receive_size(), 0u);
    writer.poll();
    ASSERT_EQ(writer.decided_through(), 0u);
    journal.close_socket();  // killed: "two" and "three" (and the probe) go with its queue
    writer.poll();
    EXPECT_GE(writer.decided_through(), 3u) << "a dead journald can store none of them any more";
    EXPECT_EQ(writer.send({{"MESSAGE", "four"}}), ECONNREFUSED) << "nobody listens any more";
    EXPECT_EQ(writer.decided_through(), writer.last_sent());
}

TEST(JournalWriter, ARestartedJournaldTakesTheNextEntryAndTheOldOnesAreDecided) {
    FakeJournal journal;
    JournalWriter writer(journal.path());
    ASSERT_EQ(writer.send({{"MESSAGE", "one"}}), 0);
    journal.restart();  // killed with "one" unread; the next journald binds the same path
    ASSERT_EQ(writer.send({{"MESSAGE", "two"}}), 0);
    EXPECT_EQ(writer.last_sent(), 2u);
    EXPECT_EQ(writer.decided_through(), 1u) << "one went with the old journald";
    EXPECT_EQ(parse(journal.receive()).at("MESSAGE"), "two");
    writer.poll();
    EXPECT_EQ(journal.receive_size(), 0u) << "a probe behind two";
    writer.poll();
    EXPECT_EQ(writer.decided_through(), 2u);
}

TEST(JournalWriter, SendsTheTrailerAfterTheEntry) {
    FakeJournal journal;
    JournalWriter writer(journal.path());
    std::string entry;
    encode_journal_entry({{"MESSAGE", "body"}, {"PRIORITY", "6"}}, entry);
    ASSERT_EQ(writer.send(entry, "IOT_SEQ=1.1\n"), 0);
    const auto got = parse(journal.receive());
    EXPECT_EQ(got.at("MESSAGE"), "body");
    EXPECT_EQ(got.at("IOT_SEQ"), "1.1");
}

}  // namespace
}  // namespace iot
