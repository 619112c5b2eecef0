#include "iot-amqpd/journal_writer.hpp"

#include <fcntl.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <endian.h>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace iot {
namespace {

constexpr int kSendBufferBytes = 8 * 1024 * 1024;
// While entries stream, the queue is read after every few sends, not each one:
// the ioctl is a system call, and a few more held deliveries cost nothing.
constexpr unsigned kObserveEverySends = 8;

iovec iov_of(const void* data, std::size_t size) {
    return iovec{const_cast<void*>(data),
                 size};  // NOLINT(cppcoreguidelines-pro-type-const-cast): iovec is not const-correct
}

sockaddr_un address_of(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    return addr;
}

}  // namespace

JournalWriter::JournalWriter(std::string socket_path)
    : socket_path_(std::move(socket_path)), queued_sizes_(QueuedSizes::measured()) {}

JournalWriter::~JournalWriter() {
    if (fd_ >= 0) ::close(fd_);
}

// Connected, not addressed per send: the socket then stays bound to one
// journald, so its death is seen (ECONNREFUSED) instead of the next send
// silently reaching a restarted one.
int JournalWriter::ensure_connected() {
    if (fd_ >= 0) return 0;
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return errno;
    // A bigger send buffer lets larger entries go as one datagram; the kernel caps it.
    int size = kSendBufferBytes;
    (void)::setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    const sockaddr_un addr = address_of(socket_path_);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
        const int err = errno;
        ::close(fd_);
        fd_ = -1;
        return err;
    }
    return 0;
}

void encode_journal_entry(const std::vector<JournalField>& fields, std::string& out) {
    std::size_t size = out.size();
    for (const auto& f : fields) size += f.name.size() + 1 + sizeof(std::uint64_t) + f.value.size() + 1;
    out.reserve(size);
    for (const auto& f : fields) {
        out.append(f.name);
        if (f.value.find('\n') == std::string_view::npos) {
            out += '=';
        } else {
            // Binary-safe form: NAME '\n' <le64 size> value '\n'.
            const std::uint64_t length = htole64(static_cast<std::uint64_t>(f.value.size()));
            out += '\n';
            out.append(reinterpret_cast<const char*>(&length), sizeof length);
        }
        out.append(f.value);
        out += '\n';
    }
}

// One or two iovecs: the kernel's cost of sendmsg() grows with their number.
void JournalWriter::gather(std::string_view entry, std::string_view trailer) {
    iov_.clear();
    iov_.push_back(iov_of(entry.data(), entry.size()));
    if (!trailer.empty()) iov_.push_back(iov_of(trailer.data(), trailer.size()));
}

int JournalWriter::send(const std::vector<JournalField>& fields) {
    staging_.clear();
    encode_journal_entry(fields, staging_);
    return send(staging_);
}

int JournalWriter::send(std::string_view entry, std::string_view trailer) { return send(entry, trailer, true); }

int JournalWriter::try_send(std::string_view entry, std::string_view trailer) { return send(entry, trailer, false); }

std::uint64_t JournalWriter::unread() {
    if (fd_ >= 0) observe_queue();
    return tracker_.last_sent() - std::min(tracker_.left_queue_through(), tracker_.last_sent());
}

int JournalWriter::send(std::string_view entry, std::string_view trailer, bool wait) {
    gather(entry, trailer);
    const std::size_t payload = entry.size() + trailer.size();
    const bool was_connected = fd_ >= 0;
    int err = transmit(payload, wait);
    if (err == ECONNREFUSED && was_connected) err = transmit(payload, wait);  // the journald now listening, if any
    if (err == 0) last_was_probe_ = false;
    return err;
}

int JournalWriter::transmit(std::size_t payload, bool wait) {
    if (const int err = ensure_connected(); err != 0) return err;
    int err = send_datagram(wait);
    if (err == EAGAIN) return err;  // no room now (only without waiting): nothing sent
    if (err == EMSGSIZE || err == ENOBUFS) {
        err = send_via_memfd();
        payload = 0;  // the datagram carries only the memfd
    }
    if (err == ECONNREFUSED || err == ENOTCONN) journald_gone();
    if (err != 0) return err;
    tracker_.sent(queued_sizes_.least_bytes(payload));
    if (++sends_since_observed_ >= kObserveEverySends) observe_queue();
    return 0;
}

void JournalWriter::observe_queue() {
    sends_since_observed_ = 0;
    int queued = 0;
    if (::ioctl(fd_, SIOCOUTQ, &queued) == 0 && queued >= 0)
        tracker_.observe_queued(static_cast<std::uint64_t>(queued));
}

std::uint64_t JournalWriter::decided_through() const {
    // The newest datagram known to have left the queue was read after every
    // earlier one was processed (or the queue went with a dead journald).
    const std::uint64_t left = tracker_.left_queue_through();
    return std::max(left == 0 ? 0 : left - 1, gone_through_);
}

void JournalWriter::poll() {
    if (fd_ < 0) return;
    observe_queue();
    if (last_was_probe_ || decided_through() >= tracker_.last_sent()) return;
    // journald ignores a datagram without data or descriptors. MSG_DONTWAIT:
    // a journald that is not reading (full queue) decides nothing, and the
    // group's thread must not block on it.
    if (::send(fd_, "", 0, MSG_NOSIGNAL | MSG_DONTWAIT) == 0) {
        tracker_.sent(queued_sizes_.least_bytes(0));
        last_was_probe_ = true;
        observe_queue();
    } else if (errno == ECONNREFUSED || errno == ENOTCONN) {
        journald_gone();
    }
}

// Whatever journald had not read when it died went with it, and what it had
// read it can no longer store: everything sent to it is decided. (Under
// systemd the socket belongs to the service manager and outlives journald:
// the send never fails, and the next journald reads the queue.)
void JournalWriter::journald_gone() {
    gone_through_ = tracker_.last_sent();
    (void)tracker_.reader_lost();
    ::close(fd_);
    fd_ = -1;
}

int JournalWriter::send_datagram(bool wait) {
    msghdr msg{};
    msg.msg_iov = iov_.data();
    msg.msg_iovlen = iov_.size();
    const int flags = MSG_NOSIGNAL | (wait ? 0 : MSG_DONTWAIT);
    for (;;) {
        if (::sendmsg(fd_, &msg, flags) >= 0) return 0;
        if (errno == EWOULDBLOCK) return EAGAIN;
        if (errno != EINTR) return errno;
    }
}

// Entries larger than a datagram travel as a sealed memfd (journald's protocol).
int JournalWriter::send_via_memfd() {
    const int mfd = ::memfd_create("iot-amqpd-entry", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (mfd < 0) return errno;
    int err = 0;
    for (const auto& v : iov_) {
        const char* p = static_cast<const char*>(v.iov_base);
        std::size_t left = v.iov_len;
        while (left > 0 && err == 0) {
            const ssize_t n = ::write(mfd, p, left);
            if (n < 0 && errno != EINTR) err = errno;
            if (n > 0) p += n, left -= static_cast<std::size_t>(n);
        }
    }
    if (err == 0 && ::fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
        err = errno;
    if (err == 0) {
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
        msghdr msg{};
        msg.msg_control = control;
        msg.msg_controllen = sizeof(control);
        cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(cmsg), &mfd, sizeof(int));
        while (::sendmsg(fd_, &msg, MSG_NOSIGNAL) < 0) {
            if (errno != EINTR) {
                err = errno;
                break;
            }
        }
    }
    ::close(mfd);
    return err;
}

}  // namespace iot
