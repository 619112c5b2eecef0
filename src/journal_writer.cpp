#include "iot-amqpd/journal_writer.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <endian.h>

namespace iot {
namespace {

constexpr char kEquals[] = "=";
constexpr char kNewline[] = "\n";
constexpr int kSendBufferBytes = 8 * 1024 * 1024;

iovec iov_of(const void* data, std::size_t size) {
    return iovec{const_cast<void*>(data), size};  // NOLINT(cppcoreguidelines-pro-type-const-cast): iovec is not const-correct
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

int JournalWriter::send(const std::vector<JournalField>& fields) {
    iov_.clear();
    lengths_.resize(fields.size());
    for (std::size_t i = 0; i < fields.size(); ++i) {
        const auto& f = fields[i];
        iov_.push_back(iov_of(f.name.data(), f.name.size()));
        if (f.value.find('\n') == std::string_view::npos) {
            iov_.push_back(iov_of(kEquals, 1));
        } else {
            // Binary-safe form: NAME '\n' <le64 size> value '\n'.
            lengths_[i] = htole64(static_cast<std::uint64_t>(f.value.size()));
            iov_.push_back(iov_of(kNewline, 1));
            iov_.push_back(iov_of(&lengths_[i], sizeof(std::uint64_t)));
        }
        iov_.push_back(iov_of(f.value.data(), f.value.size()));
        iov_.push_back(iov_of(kNewline, 1));
    }
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
    if (err == 0 && ::fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) err = errno;
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
