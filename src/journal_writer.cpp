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
constexpr std::size_t kInPlaceBytes = 4096;
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

// The datagram is built from few iovecs: the kernel's cost of sendmsg() grows
// with their number, so every field is copied into one staging buffer except
// values of kInPlaceBytes or more (a big body), which are sent in place.
int JournalWriter::send(const std::vector<JournalField>& fields) {
    std::size_t staged = 0;
    for (const auto& f : fields) {
        staged += f.name.size() + 1 + sizeof(std::uint64_t) + 1;
        if (f.value.size() < kInPlaceBytes) staged += f.value.size();
    }
    staging_.clear();
    staging_.reserve(staged);
    segments_.clear();
    std::size_t unsent = 0;  // offset of the staged bytes not yet covered by a segment
    const auto cover_staged = [&] {
        if (staging_.size() > unsent) segments_.push_back({nullptr, unsent, staging_.size() - unsent});
        unsent = staging_.size();
    };
    for (const auto& f : fields) {
        staging_.append(f.name);
        if (f.value.find('\n') == std::string_view::npos) {
            staging_ += '=';
        } else {
            // Binary-safe form: NAME '\n' <le64 size> value '\n'.
            const std::uint64_t size = htole64(static_cast<std::uint64_t>(f.value.size()));
            staging_ += '\n';
            staging_.append(reinterpret_cast<const char*>(&size), sizeof size);
        }
        if (f.value.size() < kInPlaceBytes) {
            staging_.append(f.value);
        } else {
            cover_staged();
            segments_.push_back({f.value.data(), 0, f.value.size()});
        }
        staging_ += '\n';
    }
    cover_staged();
    // Pointers into staging_ are taken only now that it no longer grows.
    iov_.clear();
    std::size_t payload = 0;
    for (const auto& s : segments_) {
        iov_.push_back(iov_of(s.external != nullptr ? s.external : staging_.data() + s.offset, s.size));
        payload += s.size;
    }
    const bool was_connected = fd_ >= 0;
    int err = transmit(payload);
    if (err == ECONNREFUSED && was_connected) err = transmit(payload);  // the journald now listening, if any
    return err;
}

int JournalWriter::transmit(std::size_t payload) {
    if (const int err = ensure_connected(); err != 0) return err;
    int err = send_datagram();
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

void JournalWriter::poll() {
    if (fd_ < 0) return;
    observe_queue();
    if (!tracker_.awaiting_proof()) return;
    // journald ignores a datagram without data or descriptors. MSG_DONTWAIT:
    // a journald that is not reading (full queue) proves nothing, and the
    // group's thread must not block on it.
    if (::send(fd_, "", 0, MSG_NOSIGNAL | MSG_DONTWAIT) == 0) {
        tracker_.sent(queued_sizes_.least_bytes(0));
        observe_queue();
    } else if (errno == ECONNREFUSED || errno == ENOTCONN) {
        journald_gone();
    }
}

// Whatever journald had not read when it died went with it. (Under systemd
// the socket belongs to the service manager and outlives journald: the send
// never fails, and the next journald reads the queue.)
void JournalWriter::journald_gone() {
    const WriteRange lost = tracker_.reader_lost();
    if (!lost.empty()) {
        if (lost_)
            lost_ = WriteRange{std::min(lost_->first, lost.first), std::max(lost_->last, lost.last)};
        else
            lost_ = lost;
    }
    ::close(fd_);
    fd_ = -1;
}

std::optional<WriteRange> JournalWriter::take_lost() { return std::exchange(lost_, std::nullopt); }

int JournalWriter::send_datagram() {
    msghdr msg{};
    msg.msg_iov = iov_.data();
    msg.msg_iovlen = iov_.size();
    for (;;) {
        if (::sendmsg(fd_, &msg, MSG_NOSIGNAL) >= 0) return 0;
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
