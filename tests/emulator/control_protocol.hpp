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
