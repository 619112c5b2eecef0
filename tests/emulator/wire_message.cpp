#include "wire_message.hpp"

#include <proton/delivery.h>
#include <proton/link.h>
#include <proton/codec/map.hpp>
#include <proton/value.hpp>

#include <map>
#include <string>

namespace iot::emu {
namespace {

// proton-cpp keeps a link's C object behind a protected accessor. A pointer to
// that member, named through a class derived from sender, may be applied to any
// sender: the access check is made where the member is named.
struct LinkOf : proton::sender {
    static pn_link_t* get(const proton::sender& sender) {
        constexpr auto accessor = &LinkOf::pn_object;
        return (sender.*accessor)();
    }
};

}  // namespace

void to_proton(const EmuMessage& m, proton::message& out) {
    switch (m.encoding) {
        case BodyEncoding::data:
            out.body(proton::binary(m.body.begin(), m.body.end()));
            out.inferred(true);  // a binary body goes out as a data section
            break;
        case BodyEncoding::string:
            out.body(m.body);
            out.inferred(false);
            break;
        case BodyEncoding::value: {
            std::map<std::string, proton::value> map;
            map["messageId"] = m.message_id;
            map["payload"] = proton::binary(m.body.begin(), m.body.end());
            out.body(map);
            out.inferred(false);
            break;
        }
        case BodyEncoding::empty: out.inferred(false); break;
    }
    if (m.props != PropsMode::none) {
        auto& props = out.properties();
        props.put("topic", m.topic);
        if (m.props == PropsMode::long_id) {
            props.put("messageId", m.numeric_id);
        } else {
            props.put("messageId", m.message_id);
        }
        props.put("generateTime", m.generate_time_ms);
    }
}

std::vector<char> encode_message(const EmuMessage& message) {
    proton::message out;
    to_proton(message, out);
    std::vector<char> bytes;
    out.encode(bytes);
    return bytes;
}

void send_encoded(proton::sender& sender, const std::vector<char>& encoded, const proton::binary& tag) {
    pn_link_t* link = LinkOf::get(sender);
    pn_delivery(link, pn_dtag(reinterpret_cast<const char*>(tag.data()), tag.size()));
    pn_link_send(link, encoded.data(), encoded.size());
    pn_link_advance(link);
}

}  // namespace iot::emu
