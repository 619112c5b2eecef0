// The least queued size of a datagram must never exceed what the kernel
// really counts (or the daemon would take an unread entry for a read one),
// and should be exact for the sizes journal entries have.
#include "iot-amqpd/queued_size.hpp"

#include <gtest/gtest.h>

namespace iot {
namespace {

TEST(QueuedSizes, NeverMoreThanTheKernelCounts) {
    const QueuedSizes& table = QueuedSizes::measured();
    int checked = 0;
    for (std::size_t payload = 0; payload <= 60000; payload += payload < 20000 ? 37 : 997) {
        const std::uint64_t actual = QueuedSizes::measure_one(payload);
        if (actual == 0) continue;  // did not fit the test's socket buffer
        EXPECT_LE(table.least_bytes(payload), actual) << "payload " << payload;
        EXPECT_GT(table.least_bytes(payload), payload) << "payload " << payload;
        ++checked;
    }
    EXPECT_GT(checked, 500) << "the kernel must report SIOCOUTQ for AF_UNIX datagrams";
}

TEST(QueuedSizes, ExactForJournalEntrySizes) {
    const QueuedSizes& table = QueuedSizes::measured();
    for (const std::size_t payload :
         {std::size_t{0}, std::size_t{700}, std::size_t{801}, std::size_t{1500}, std::size_t{4000}}) {
        EXPECT_EQ(table.least_bytes(payload), QueuedSizes::measure_one(payload)) << "payload " << payload;
    }
}

}  // namespace
}  // namespace iot
