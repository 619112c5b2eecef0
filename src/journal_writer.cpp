#include "iot-amqpd/journal_writer.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <endian.h>
#include <cerrno>
#include <cstring>

namespace iot {
namespace {

constexpr int kSendBufferBytes = 8 * 1024 * 1024;
constexpr std::size_t kInPlaceBytes = 4096;

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

JournalWriter::JournalWriter(std::string socket_path) : socket_path_(std::move(socket_path)) {}

JournalWriter::~JournalWriter() {
    if (fd_ >= 0) ::close(fd_);
}

int JournalWriter::ensure_socket() {
    if (fd_ >= 0) return 0;
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return errno;
    // A bigger send buffer lets larger entries go as one datagram; the kernel caps it.
    int size = kSendBufferBytes;
    (void)::setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
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
    for (const auto& s : segments_)
        iov_.push_back(iov_of(s.external != nullptr ? s.external : staging_.data() + s.offset, s.size));
    if (const int err = ensure_socket(); err != 0) return err;
    const int err = send_datagram();
    if (err == EMSGSIZE || err == ENOBUFS) return send_via_memfd();
    return err;
}

int JournalWriter::send_datagram() {
    sockaddr_un addr = address_of(socket_path_);
    msghdr msg{};
    msg.msg_name = &addr;
    msg.msg_namelen = sizeof(addr);
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
        sockaddr_un addr = address_of(socket_path_);
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
        msghdr msg{};
        msg.msg_name = &addr;
        msg.msg_namelen = sizeof(addr);
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
