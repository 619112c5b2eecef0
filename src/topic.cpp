#include "iot-amqpd/topic.hpp"

#include <array>

namespace iot {
namespace {

constexpr std::size_t kMaxSegments = 6;

// Splits "/a/b/c" into {"a","b","c"}; stops after kMaxSegments. Returns the count.
std::size_t split_segments(std::string_view topic, std::array<std::string_view, kMaxSegments>& out) {
    std::size_t count = 0;
    std::size_t pos = 1;  // skip the leading '/'
    while (pos <= topic.size() && count < kMaxSegments) {
        const std::size_t slash = topic.find('/', pos);
        const std::size_t end = slash == std::string_view::npos ? topic.size() : slash;
        out[count++] = topic.substr(pos, end - pos);
        if (slash == std::string_view::npos) break;
        pos = slash + 1;
    }
    return count;
}

bool ends_with(std::string_view text, std::string_view suffix) {
    return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

DeviceRef pair_at(const std::array<std::string_view, kMaxSegments>& seg, std::size_t count, std::size_t first) {
    if (count < first + 2 || seg[first].empty() || seg[first + 1].empty()) return {};
    return {seg[first], seg[first + 1]};
}

}  // namespace

DeviceRef device_from_topic(std::string_view topic) {
    if (topic.size() < 2 || topic.front() != '/') return {};
    std::array<std::string_view, kMaxSegments> seg{};
    const std::size_t count = split_segments(topic, seg);

    if (count >= 3 && seg[0] == "as" && seg[1] == "mqtt" && seg[2] == "status") return pair_at(seg, count, 3);
    if (seg[0] == "sys") return pair_at(seg, count, 1);
    if (ends_with(topic, "/ota/job/status")) {
        // /{PK}/{packageId}/{jobId}/ota/job/status: segment 2 is a package, not a device.
        if (count < kMaxSegments || seg[0].empty()) return {};
        return {seg[0], {}};
    }
    // A device topic has at least one segment after PK/DN.
    if (count < 3) return {};
    return pair_at(seg, count, 0);
}

}  // namespace iot
