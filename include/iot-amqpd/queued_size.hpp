// What one datagram occupies at least in its receiver's queue, as the
// sender's SIOCOUTQ counts it: its payload plus the kernel's sk_buff
// bookkeeping, rounded up to the kernel's allocation size classes. The
// tighter this is, the sooner ReadTracker recognises journald's reads: an
// 800-byte entry occupies about 2.3 KiB, so payload + a constant would count
// it as nearly two.
//
// The kernel sizes a datagram's buffer from its payload rounded up to the
// cache line (64 bytes), so every payload in (64(k-1), 64k] occupies the
// same; one measurement per such span, on a private socket pair, covers
// them all up to kMeasuredPayload. Larger payloads (paged buffers) get the
// payload plus the least overhead measured.
//
// Thread: measured() is initialised once, thread-safely; the table is immutable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace iot {

class QueuedSizes {
public:
    static constexpr std::size_t kSpan = 64;
    static constexpr std::size_t kMeasuredPayload = std::size_t{16} * 1024;

    // This kernel's table, measured on first use (about 256 datagrams).
    static const QueuedSizes& measured();
    // Queued bytes of one datagram of `payload` bytes, measured now on a
    // private socket pair; 0 if the kernel does not tell.
    static std::uint64_t measure_one(std::size_t payload);

    [[nodiscard]] std::uint64_t least_bytes(std::size_t payload) const;

private:
    QueuedSizes() = default;
    std::vector<std::uint64_t> by_span_;  // [0]: an empty datagram; [k]: payloads in (64(k-1), 64k]
    std::uint64_t least_overhead_ = 1;
};

}  // namespace iot
