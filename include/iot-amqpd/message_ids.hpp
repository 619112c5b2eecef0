// The journal MESSAGE_ID of every event the daemon logs (IOT_EVENT=<event>):
// one 128-bit id per event name, generated once (systemd-id128 new) and never
// changed, so `journalctl MESSAGE_ID=...` finds an event across versions and
// `journalctl -x` shows its entry in the catalog. This table is the only place
// the ids live; packaging/iot-amqpd.catalog explains each of them, and
// tests/unit/documentation_test.cpp checks that the two, the events in src/
// and the README's troubleshooting table agree.
//
// A new event gets a new id here and an entry in the catalog. An event whose
// meaning changes gets a new name and a new id; an id is never reused.
#pragma once

#include <array>
#include <string_view>

namespace iot {

struct EventMessageId {
    std::string_view event;  // the IOT_EVENT= value
    std::string_view id;     // 32 lowercase hex digits, as MESSAGE_ID= and the catalog write it
};

// clang-format off
inline constexpr std::array<EventMessageId, 34> kEventMessageIds{{
    {"auth_failed", "423637c6d93743fcb1b19135d30dbf95"},
    {"clock_off", "d5a2bba6d1b9425db415c2d8caf23407"},
    {"config_invalid", "dc6828348e47438cbb8bfd2a4769e5d7"},
    {"config_warning", "cf5ca2cd4b89491dab624aefbbaba11a"},
    {"connected", "d3e3a88679f94920b6b59023ec9ca07e"},
    {"connecting", "643ebedca3fd49b0913ced7bdf74584b"},
    {"dedup_seeded", "1a0800fdd7cc4224ac6b0994331479fb"},
    {"disconnected", "fda362a16d3d4d8295dac3b4ce17cfec"},
    {"fatal", "a58752f1ad724226b1f98b4327a74258"},
    {"group_failed", "26706d55039e42d296241f03a771750b"},
    {"group_started", "b08559faca7b4571988cc6a1833f139b"},
    {"group_stopping", "90fc070b84b7478ca7b61cf1555f81f5"},
    {"journal_checked", "5bd74be0dfb14362ae152b96caaa15e5"},
    {"journal_dropped", "05fe59f09d3a461b8c36c7a1ceb7bbfa"},
    {"journal_not_ready", "271698151b7c470089ba50b7a06c760d"},
    {"journal_not_storing", "042ec79f7cd3432a8ecd89bb99b75631"},
    {"journal_storing", "4556e60125cc44e1ac529126e9590d88"},
    {"journal_unreadable", "2bccf1ea951b49ce8ae96f202e66a7d8"},
    {"metrics_failed", "80f8ef65884e4a9590a1f27ed01ad4ad"},
    {"ready", "d556589e53a04a4dababc5af85e6b255"},
    {"reconnect_delay", "bf9de96743f64bda9216ebf8fa2e5412"},
    {"reload_failed", "2cc6221b7a6a487ebe0964ccd41c7e86"},
    {"reloaded", "535883676f7b4e59ada912513a35c11f"},
    {"reloading", "2332e643d2504988ba5749329ea654ee"},
    {"restart_required", "2d5e5c0b13a84c0d84af1b2691918d35"},
    {"startup_failed", "5b968ced0fdb4ec78023677b58dd01df"},
    {"still_failing", "a1200d0778364e21bbddcb57a96f5f24"},
    {"stop_timeout", "d21e6b46e95448eca4ad3ac5f21c7b07"},
    {"stopped", "1f54ef8adab840948e9f7bf937fab1f1"},
    {"stopping", "eee538696e1044bf83a03417b052b339"},
    {"trace_refused", "26f312182f714b069ffb047f51d0ea4d"},
    {"write_failed", "5922d55228b545ab8e638b24f15c06e2"},
    {"write_recovered", "f163f18a57da43209eea08fc33b7e1ef"},
    {"write_timeout", "9777cabda07e43fcb9d87774bfaff296"},
}};
// clang-format on

// The id of an event, or "" for a name not in the table.
[[nodiscard]] constexpr std::string_view message_id_for(std::string_view event) {
    for (const auto& entry : kEventMessageIds)
        if (entry.event == event) return entry.id;
    return {};
}

}  // namespace iot
