#include "iot-amqpd/queued_size.hpp"

#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <string>

namespace iot {
namespace {

class SocketPair {
public:
    SocketPair() {
        if (::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, fds_) != 0) fds_[0] = fds_[1] = -1;
        // Room for the largest measured datagram.
        int size = 4 * static_cast<int>(QueuedSizes::kMeasuredPayload);
        if (fds_[0] >= 0) (void)::setsockopt(fds_[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    }
    ~SocketPair() {
        for (const int fd : fds_)
            if (fd >= 0) ::close(fd);
    }
    SocketPair(const SocketPair&) = delete;
    SocketPair& operator=(const SocketPair&) = delete;

    // Sends `size` bytes, reads the sender's queued bytes, drains the datagram; 0 on any failure.
    std::uint64_t queued_bytes_of(std::size_t size) {
        if (fds_[0] < 0) return 0;
        buffer_.resize(std::max(buffer_.size(), size + 1));
        int queued = 0;
        const bool ok = ::send(fds_[0], buffer_.data(), size, MSG_DONTWAIT) == static_cast<ssize_t>(size) &&
                        ::ioctl(fds_[0], SIOCOUTQ, &queued) == 0;
        (void)::recv(fds_[1], buffer_.data(), buffer_.size(), MSG_DONTWAIT);
        return ok && queued > 0 ? static_cast<std::uint64_t>(queued) : 0;
    }

private:
    int fds_[2] = {-1, -1};
    std::string buffer_;
};

}  // namespace

const QueuedSizes& QueuedSizes::measured() {
    static const QueuedSizes table = [] {
        QueuedSizes t;
        SocketPair pair;
        t.by_span_.push_back(pair.queued_bytes_of(0));
        for (std::size_t end = kSpan; end <= kMeasuredPayload; end += kSpan)
            t.by_span_.push_back(pair.queued_bytes_of(end));
        const bool complete =
            std::none_of(t.by_span_.begin(), t.by_span_.end(), [](std::uint64_t b) { return b == 0; });
        if (!complete) {
            t.by_span_.clear();  // the kernel does not tell: payload + 1 is all we know
            return t;
        }
        // The least overhead: every span's largest payload against its size.
        std::uint64_t least = t.by_span_[0];
        for (std::size_t k = 1; k < t.by_span_.size(); ++k) {
            const std::uint64_t largest_payload = k * kSpan;
            least = std::min(least, t.by_span_[k] - std::min(t.by_span_[k], largest_payload));
        }
        t.least_overhead_ = std::max<std::uint64_t>(least, 1);
        return t;
    }();
    return table;
}

std::uint64_t QueuedSizes::measure_one(std::size_t payload) {
    SocketPair pair;
    return pair.queued_bytes_of(payload);
}

std::uint64_t QueuedSizes::least_bytes(std::size_t payload) const {
    const std::uint64_t beyond = std::uint64_t{payload} + least_overhead_;
    const std::size_t span = (payload + kSpan - 1) / kSpan;
    if (span < by_span_.size()) return std::max(by_span_[span], beyond);
    return beyond;
}

}  // namespace iot
