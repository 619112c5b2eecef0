// The emulator's text control protocol: one command per line, one JSON object
// per reply line. Used by the control socket, the `ctl` sub-command and tests.
//
//   publish group=<cgid> count=N [rate=R] [size=B] [kind=<kind>|mixed] [id_prefix=P]
//           [dup=K] [devices=D] [body=data|string|value|empty] [props=full|none|long_id]
//           [premade=0|1]   (1: all made and encoded before the reply, which carries released_ns,
//                            the CLOCK_MONOTONIC time they became sendable; rate 0 only)
//   drop [group=<cgid>]
//   close [group=<cgid>] [condition=amqp:connection:forced] [description="..."]
//   refuse_auth seconds=S
//   stall seconds=S|ms=N                  freezes the whole emulator thread: no reads,
//                                         writes or heartbeats on any connection
//   stall group=<cgid> seconds=S|ms=N     stops pushes to that group's connections only
//   stall client=<clientId> seconds=S|ms=N  stops pushes to that client id's connections only
//                                         (reply "connections": how many it affects now)
//   stats | clients | quit
//
// The Huawei Cloud IoTDA dialect names queues instead of consumer groups
// (group= and queue= exclude each other):
//   publish queue=<name> count=N [rate=R] [devices=D]
//           [resource=device.message|device.property|mixed] [request_id=1|0]
//           [event_time_ms=1|0] [id_prefix=P] [dup=K]
//           JSON envelopes (iotda_envelope.hpp) as data sections, no application
//           properties; request ids are <P>-<n> (default P: p<N>), n = 1..count;
//           dup=K publishes ids 1..K once more with byte-identical bodies; mixed
//           alternates message (odd n) and property (even n) reports;
//           request_id=0 / event_time_ms=0 leave those optional fields out.
//           Reply: {"ok":true,"queue":...,"id_prefix":"P-","count","dup","first_id","last_id","released_ns"}
//   drop queue=<name>                     connections with a link on that queue
//   close queue=<name> [condition=...] [description="..."]
//   stall queue=<name> seconds=S|ms=N     stops pushes to that queue's links only
//   stall client=<accessKey> ...          an IoTDA connection's client id is its access key
//   stats: besides "groups", "queues" (per queue the group counters: published,
//          delivered, accepted, redelivered, ...; connections/links = receiver
//          links attached now, connections_total = attaches so far),
//          "access_keys" (per access key: attempts, auth_ok, auth_failures,
//          refused_attempts, connections, connections_total, reused_timestamps,
//          last_timestamp, user_names = every attempt's user name, oldest first)
//          and "iotda_auth_failures_unparsed".
//   clients: an IoTDA connection has "group":"" and its access key as "client_id".
//   refuse_auth and stall seconds=S concern both dialects; drop and close
//   without group= or queue= concern every connection of both.
//
// Values may be double-quoted ("a b"); unknown keys are errors.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace iot::emu {

class Emulator;

struct Command {
    std::string name;
    std::map<std::string, std::string> args;
};

// nullopt and `error` set when the line cannot be tokenised.
[[nodiscard]] std::optional<Command> parse_command(std::string_view line, std::string& error);

// Thread-safe as the Emulator is; `on_quit` runs after the reply to "quit" is built.
class ControlHandler {
public:
    ControlHandler(Emulator& emulator, std::function<void()> on_quit)
        : emulator_(emulator), on_quit_(std::move(on_quit)) {}

    // Never throws: failures come back as {"ok":false,"error":"..."}.
    [[nodiscard]] std::string handle(std::string_view line);

private:
    Emulator& emulator_;
    std::function<void()> on_quit_;
};

}  // namespace iot::emu
