// An emulated message in its AMQP form: the proton message the emulator
// sends, its encoded bytes, and sending bytes encoded ahead of time.
//
// Thread: free functions; a proton::sender is used on its container's thread.
#pragma once

#include <proton/binary.hpp>
#include <proton/message.hpp>
#include <proton/sender.hpp>

#include <vector>

#include "message_factory.hpp"

namespace iot::emu {

// Sets `out`'s body, its inferred flag and its application properties from
// `message`; `out` is expected to be clear.
void to_proton(const EmuMessage& message, proton::message& out);

// The message as its transfer carries it.
[[nodiscard]] std::vector<char> encode_message(const EmuMessage& message);

// What proton::sender::send does after encoding, for the emulator's at-least-once
// senders (unsettled, never asked to drain): one delivery with
// `tag` carrying `encoded`. For messages made ahead, so sending skips the
// encoding (proton-cpp offers no send of ready bytes).
void send_encoded(proton::sender& sender, const std::vector<char>& encoded, const proton::binary& tag);

}  // namespace iot::emu
