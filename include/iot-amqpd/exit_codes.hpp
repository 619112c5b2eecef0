// The daemon's exit codes (DESIGN.md §3), by name everywhere they are used.
//
// Compile-time constants; no thread affinity.
#pragma once

namespace iot {

inline constexpr int kExitOk = 0;       // a clean stop
inline constexpr int kExitFailure = 1;  // a runtime failure
inline constexpr int kExitUsage = 2;    // a usage error on the command line
inline constexpr int kExitConfig = 78;  // EX_CONFIG: invalid configuration (the unit does not restart)

}  // namespace iot
