// The timestamp each login is signed with. DESIGN.md §5 signs the wall clock
// in milliseconds, and it is the only thing in the daemon that reads the wall
// clock: a strict cloud refuses a timestamp not newer than the client id's
// previous one (a replay), and any timestamp more than 15 minutes from its own
// time. NTP steps the wall clock (a VM resumed, a bad RTC corrected), so:
//
// - every client id's last signed timestamp is kept, and the next one is
//   always newer;
// - the last timestamp the cloud accepted for a client id, advanced by the
//   boot clock (monotonic, and it counts suspend) since it was signed, is the
//   best estimate of the cloud's time: a wall clock behind it is not signed
//   (that would be a replay), and one more than the cloud's window ahead of
//   it is not signed either (the cloud would refuse it); the estimate is, and
//   the note says the wall clock is off and names timedatectl;
// - a refused login forgets that estimate (it may be what was wrong, e.g.
//   after a VM was paused), so the next attempt signs the wall clock again.
//
// One per process (process_signing_clock()): a group restarted by a reload
// signs for the same client ids as before.
//
// Thread: shared by every group thread; all state under mutex_.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace iot {

// The cloud accepts a timestamp within this much of its own time.
inline constexpr std::chrono::milliseconds kCloudTimestampWindow{15 * 60 * 1000};

class SigningClock {
public:
    struct Stamp {
        std::int64_t timestamp_ms = 0;
        // "" when the wall clock was signed as it is (or nudged by a few ms
        // to stay newer); else why not, for the operator (names timedatectl).
        std::string note;
    };

    // The timestamp to sign now for `client_id`, given the wall clock and the
    // boot clock (both in ms); remembered as that client id's last one.
    [[nodiscard]] Stamp stamp(const std::string& client_id, std::int64_t wall_ms, std::int64_t boot_ms);
    // The cloud accepted the client id's last stamp: it anchors the estimate.
    void accepted(const std::string& client_id);
    // The cloud refused the client id's last login: drop the estimate.
    void refused(const std::string& client_id);

private:
    struct Signed {
        std::int64_t timestamp_ms = 0;
        std::int64_t boot_ms = 0;
    };
    struct Client {
        std::optional<Signed> last;    // the last timestamp signed
        std::optional<Signed> anchor;  // the last one the cloud accepted
    };

    std::mutex mutex_;
    std::map<std::string, Client> clients_;
};

// The process's signing clock.
[[nodiscard]] SigningClock& process_signing_clock();
// CLOCK_BOOTTIME in milliseconds: monotonic, counting suspend.
[[nodiscard]] std::int64_t boot_clock_ms();

}  // namespace iot
