// Whether this test program (and so the daemon built beside it) was compiled
// with AddressSanitizer or ThreadSanitizer. Under them some measurements mean
// nothing (ASan's quarantine holds freed memory, so VmHWM grows by design)
// and some signals are theirs (ASan catches SIGSEGV and exits 1 with a report).
//
// Compile-time constants; no thread affinity.
#pragma once

namespace iot::test {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitizerBuild = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool kSanitizerBuild = true;
#else
inline constexpr bool kSanitizerBuild = false;
#endif
#else
inline constexpr bool kSanitizerBuild = false;
#endif

}  // namespace iot::test
