// hot-path-check: the optimised message hot path must say exactly what the
// straightforward version said. A differential check, run after every change
// to src/encoding.cpp or the aliyun profile's describe():
//   * is_valid_utf8, append_json_escaped and append_base64 against the plain
//     byte-at-a-time versions kept here, on a million random strings mixing
//     ASCII, quotes, control bytes, multi-byte UTF-8 and invalid bytes;
//   * describe() against the proton-cpp accessor version kept here, for every
//     emulator message kind, body encoding and property mode, plus properties
//     of every scalar type, missing and null ones, each message decoded from
//     the wire into one reused proton::message as proton's receiver does.
// Prints the first difference and exits 1, else "ok" and the case count.
//
// Thread: single-threaded program.
#include <proton/binary.hpp>
#include <proton/message.hpp>
#include <proton/scalar.hpp>
#include <proton/symbol.hpp>
#include <proton/timestamp.hpp>
#include <proton/types.hpp>
#include <proton/uuid.hpp>
#include <proton/value.hpp>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "iot-amqpd/clouds/aliyun.hpp"
#include "iot-amqpd/encoding.hpp"
#include "iot-amqpd/topic.hpp"
#include "message_factory.hpp"

namespace {

// ---- the reference versions ---------------------------------------------------

bool reference_utf8(std::string_view bytes) {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    const auto* const end = p + bytes.size();
    while (p < end) {
        const unsigned char c = *p;
        if (c < 0x80) {
            ++p;
            continue;
        }
        std::size_t len = 0;
        std::uint32_t cp = 0;
        std::uint32_t min = 0;
        if ((c & 0xE0) == 0xC0) {
            len = 2, cp = c & 0x1Fu, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3, cp = c & 0x0Fu, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4, cp = c & 0x07u, min = 0x10000;
        } else {
            return false;
        }
        if (static_cast<std::size_t>(end - p) < len) return false;
        for (std::size_t i = 1; i < len; ++i) {
            if ((p[i] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (p[i] & 0x3Fu);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        p += len;
    }
    return true;
}

void reference_base64(std::string& out, std::string_view bytes) {
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    std::size_t n = bytes.size();
    for (; n >= 3; n -= 3, p += 3) {
        const std::uint32_t v = (std::uint32_t{p[0]} << 16) | (std::uint32_t{p[1]} << 8) | p[2];
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += kAlphabet[(v >> 6) & 63];
        out += kAlphabet[v & 63];
    }
    if (n > 0) {
        std::uint32_t v = std::uint32_t{p[0]} << 16;
        if (n == 2) v |= std::uint32_t{p[1]} << 8;
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += n == 2 ? kAlphabet[(v >> 6) & 63] : '=';
        out += '=';
    }
}

void reference_json_escaped(std::string& out, std::string_view text) {
    static constexpr char kHex[] = "0123456789abcdef";
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c >= 0x20) {
                    out += ch;
                } else {
                    out += "\\u00";
                    out += kHex[c >> 4];
                    out += kHex[c & 15];
                }
        }
    }
}

void reference_scalar_text(const proton::scalar& value, std::string& out) {
    switch (value.type()) {
        case proton::STRING: out = proton::get<std::string>(value); break;
        case proton::SYMBOL: out = proton::get<proton::symbol>(value); break;
        case proton::BINARY: {
            const auto bin = proton::get<proton::binary>(value);
            out.assign(bin.begin(), bin.end());
            break;
        }
        case proton::LONG: out = std::to_string(proton::get<std::int64_t>(value)); break;
        case proton::ULONG: out = std::to_string(proton::get<std::uint64_t>(value)); break;
        case proton::INT: out = std::to_string(proton::get<std::int32_t>(value)); break;
        case proton::UINT: out = std::to_string(proton::get<std::uint32_t>(value)); break;
        case proton::TIMESTAMP: out = std::to_string(proton::get<proton::timestamp>(value).milliseconds()); break;
        default: out = proton::to_string(value); break;
    }
}

std::optional<std::string> reference_property(const proton::message::property_map& props, const char* key) {
    if (props.empty()) return std::nullopt;
    const proton::scalar value = props.get(key);
    if (value.empty()) return std::nullopt;
    std::string text;
    reference_scalar_text(value, text);
    return text;
}

struct Described {
    std::optional<std::string> topic, message_id, generate_time;
    std::string product_key, device_name, body;
};

Described reference_describe(const proton::message& message) {
    Described d;
    const auto& props = message.properties();
    d.topic = reference_property(props, "topic");
    d.message_id = reference_property(props, "messageId");
    d.generate_time = reference_property(props, "generateTime");
    if (d.topic) {
        const iot::DeviceRef device = iot::device_from_topic(*d.topic);
        d.product_key = std::string(device.product_key);
        d.device_name = std::string(device.device_name);
    }
    const proton::value& body = message.body();
    switch (body.type()) {
        case proton::NULL_TYPE: break;
        case proton::BINARY: {
            const auto bin = proton::get<proton::binary>(body);
            d.body.assign(bin.begin(), bin.end());
            break;
        }
        case proton::STRING: d.body = proton::get<std::string>(body); break;
        default: d.body = proton::to_string(body); break;
    }
    return d;
}

Described optimised_describe(const proton::message& message, iot::MessageScratch& scratch) {
    iot::MessageRecord record;
    record.topic = "stale";  // describe() must overwrite what a previous message left
    record.message_id = "stale";
    record.generate_time = "stale";
    static const auto aliyun = iot::make_aliyun_settings({});
    aliyun->describe(message, scratch, record);
    Described d;
    const auto copy = [](const std::optional<std::string_view>& v) {
        return v ? std::optional<std::string>(std::string(*v)) : std::nullopt;
    };
    d.topic = copy(record.topic);
    d.message_id = copy(record.message_id);
    d.generate_time = copy(record.generate_time);
    for (const iot::RecordField& field : *record.fields) {
        if (field.name == "IOT_PRODUCT_KEY") d.product_key = std::string(field.value);
        if (field.name == "IOT_DEVICE_NAME") d.device_name = std::string(field.value);
    }
    d.body = std::string(record.body);
    return d;
}

std::string show(const std::optional<std::string>& v) { return v ? "\"" + *v + "\"" : "(none)"; }

bool same(const Described& a, const Described& b, const std::string& what) {
    const auto differ = [&](const char* field, const std::string& x, const std::string& y) {
        std::printf("DIFFERENT %s in %s:\n  reference: %s\n  optimised: %s\n", field, what.c_str(), x.c_str(),
                    y.c_str());
        return false;
    };
    if (a.topic != b.topic) return differ("topic", show(a.topic), show(b.topic));
    if (a.message_id != b.message_id) return differ("messageId", show(a.message_id), show(b.message_id));
    if (a.generate_time != b.generate_time) return differ("generateTime", show(a.generate_time), show(b.generate_time));
    if (a.product_key != b.product_key) return differ("productKey", a.product_key, b.product_key);
    if (a.device_name != b.device_name) return differ("deviceName", a.device_name, b.device_name);
    if (a.body != b.body) return differ("body", a.body.substr(0, 200), b.body.substr(0, 200));
    return true;
}

// ---- the cases ------------------------------------------------------------------

std::string random_text(std::mt19937& rng) {
    static const std::vector<std::string> pieces = {"a",
                                                    "Z",
                                                    "0",
                                                    " ",
                                                    "{\"t\":24}",
                                                    "\"",
                                                    "\\",
                                                    "\n",
                                                    "\r",
                                                    "\t",
                                                    std::string(1, '\0'),
                                                    "\x01",
                                                    "\x1f",
                                                    "\x7f",
                                                    "温度",
                                                    "℃",
                                                    "\xF0\x9F\x8C\xA1",
                                                    "\xC3\xA9",
                                                    "\xFF",
                                                    "\xC0\xAF",
                                                    "\xED\xA0\x80",
                                                    "\xF4\x90\x80\x80",
                                                    "\xE2\x82",
                                                    "abcdefghijklmnop",
                                                    "\x80",
                                                    "\xC3"};
    std::uniform_int_distribution<int> length(0, 40);
    std::uniform_int_distribution<std::size_t> pick(0, pieces.size() - 1);
    std::uniform_int_distribution<int> ascii_run(0, 3);
    std::string out;
    const int n = length(rng);
    for (int i = 0; i < n; ++i) {
        // Long ASCII runs exercise the eight-bytes-at-a-time path.
        out += ascii_run(rng) == 0 ? std::string(static_cast<std::size_t>(length(rng)), 'x') : pieces[pick(rng)];
    }
    return out;
}

int check_encoding(std::size_t rounds) {
    std::mt19937 rng(20240611);
    for (std::size_t i = 0; i < rounds; ++i) {
        const std::string text = random_text(rng);
        if (iot::is_valid_utf8(text) != reference_utf8(text)) {
            std::printf("DIFFERENT is_valid_utf8 for %zu bytes (case %zu)\n", text.size(), i);
            return -1;
        }
        std::string got = "prefix:", want = "prefix:";
        iot::append_json_escaped(got, text);
        reference_json_escaped(want, text);
        if (got != want) {
            std::printf("DIFFERENT append_json_escaped (case %zu): %s vs %s\n", i, got.c_str(), want.c_str());
            return -1;
        }
        got = want = "prefix:";
        iot::append_base64(got, text);
        reference_base64(want, text);
        if (got != want) {
            std::printf("DIFFERENT append_base64 (case %zu): %s vs %s\n", i, got.c_str(), want.c_str());
            return -1;
        }
    }
    return static_cast<int>(rounds);
}

// One message as the emulator encodes it (tests/emulator/emulator.cpp).
proton::message emulator_message(const iot::emu::EmuMessage& m) {
    proton::message msg;
    switch (m.encoding) {
        case iot::emu::BodyEncoding::data:
            msg.body(proton::binary(m.body.begin(), m.body.end()));
            msg.inferred(true);
            break;
        case iot::emu::BodyEncoding::string: msg.body(m.body); break;
        case iot::emu::BodyEncoding::value: {
            std::map<std::string, proton::value> map;
            map["messageId"] = m.message_id;
            map["payload"] = proton::binary(m.body.begin(), m.body.end());
            msg.body(map);
            break;
        }
        case iot::emu::BodyEncoding::empty: break;
    }
    if (m.props != iot::emu::PropsMode::none) {
        auto& props = msg.properties();
        props.put("topic", m.topic);
        if (m.props == iot::emu::PropsMode::long_id) {
            props.put("messageId", m.numeric_id);
        } else {
            props.put("messageId", m.message_id);
        }
        props.put("generateTime", m.generate_time_ms);
    }
    return msg;
}

std::vector<std::pair<std::string, proton::message>> messages() {
    std::vector<std::pair<std::string, proton::message>> out;
    using iot::emu::BodyEncoding;
    using iot::emu::PropsMode;
    std::size_t n = 1;
    for (const auto kind : iot::emu::all_topic_kinds()) {
        for (const auto encoding :
             {BodyEncoding::data, BodyEncoding::string, BodyEncoding::value, BodyEncoding::empty}) {
            for (const auto props : {PropsMode::full, PropsMode::none, PropsMode::long_id}) {
                iot::emu::PublishSpec spec;
                spec.group = "G";
                spec.kind = kind;
                spec.encoding = encoding;
                spec.props = props;
                spec.id_prefix = props == PropsMode::long_id ? "77" : "id-";
                spec.size = n % 3 == 0 ? 3000 : 300;
                const auto m = iot::emu::make_message(spec, n++, 1700000000123);
                out.emplace_back(std::string(iot::emu::to_string(kind)) + "/" +
                                     std::to_string(static_cast<int>(encoding)) + "/" +
                                     std::to_string(static_cast<int>(props)),
                                 emulator_message(m));
            }
        }
    }
    // Each property value type the cloud might send, and the odd ones.
    const std::vector<std::pair<std::string, proton::scalar>> values = {
        {"string", proton::scalar(std::string("/a1B2c3/dev-1/user/update"))},
        {"symbol", proton::scalar(proton::symbol("/a1B2c3/dev-2/thing/event/property/post"))},
        {"binary", proton::scalar(proton::binary(std::string("/a1B2c3/dev-3/user/\xff")))},
        {"long", proton::scalar(std::int64_t{-1234567890123})},
        {"ulong", proton::scalar(std::uint64_t{18446744073709551615ULL})},
        {"int", proton::scalar(std::int32_t{-42})},
        {"uint", proton::scalar(std::uint32_t{4000000000U})},
        {"timestamp", proton::scalar(proton::timestamp(1700000000123))},
        {"bool", proton::scalar(true)},
        {"short", proton::scalar(std::int16_t{-7})},
        {"ubyte", proton::scalar(std::uint8_t{200})},
        {"double", proton::scalar(2.5)},
        {"float", proton::scalar(1.25F)},
        {"uuid", proton::scalar(proton::uuid::copy("0123456789abcdef"))},
        {"char", proton::scalar(wchar_t{L'A'})},
        {"null", proton::scalar()},
        {"empty string", proton::scalar(std::string())},
    };
    for (const auto& [name, value] : values) {
        for (const char* key : {"topic", "messageId", "generateTime"}) {
            proton::message msg;
            msg.body(proton::binary(std::string("{\"v\":1}")));
            msg.properties().put("topic", std::string("/pk/dn/thing/event/property/post"));
            msg.properties().put("messageId", std::string("m-1"));
            msg.properties().put("generateTime", std::int64_t{1700000000000});
            msg.properties().put("other", std::int32_t{5});
            msg.properties().put(key, value);
            out.emplace_back(std::string(key) + "=" + name, msg);
        }
    }
    // Bodies of other amqp-value types.
    const std::vector<std::pair<std::string, proton::value>> bodies = {
        {"int body", proton::value(std::int32_t{7})},
        {"list body", proton::value(std::vector<proton::value>{proton::value(1), proton::value(std::string("x"))})},
        {"symbol body", proton::value(proton::symbol("sym"))},
        {"empty binary body", proton::value(proton::binary())},
        {"big binary body", proton::value(proton::binary(std::string(5 * 1024 * 1024, '\x01')))},
    };
    for (const auto& [name, body] : bodies) {
        proton::message msg;
        msg.body(body);
        msg.properties().put("messageId", std::string("b-1"));
        out.emplace_back(name, msg);
    }
    return out;
}

int check_describe() {
    const auto cases = messages();
    proton::message received;     // reused for every delivery, as proton's receiver does
    iot::MessageScratch scratch;  // and the connection's scratch space
    std::size_t checked = 0;
    // Twice over, in order and reversed, so every shape follows several others.
    for (int pass = 0; pass < 2; ++pass) {
        for (std::size_t k = 0; k < cases.size(); ++k) {
            const auto& [name, original] = cases[pass == 0 ? k : cases.size() - 1 - k];
            const std::vector<char> wire = original.encode();
            received.clear();  // proton's message::decode(delivery) clears, then decodes
            received.decode(wire);
            proton::message reference_copy;
            reference_copy.decode(wire);
            const Described want = reference_describe(reference_copy);
            const Described got = optimised_describe(received, scratch);
            if (!same(want, got, name)) return -1;
            // A message held for a retry is a copy of the received one (connection_slot.cpp).
            const proton::message held = received;
            if (!same(want, optimised_describe(held, scratch), name + " (held copy)")) return -1;
            ++checked;
        }
    }
    return static_cast<int>(checked);
}

}  // namespace

int main() {
    const int encoded = check_encoding(1000000);
    if (encoded < 0) return 1;
    const int described = check_describe();
    if (described < 0) return 1;
    std::printf("ok: %d encoding cases, %d messages described identically\n", encoded, described);
    return 0;
}
