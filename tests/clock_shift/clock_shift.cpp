// An LD_PRELOAD shim for the clock-step tests (issue 15): it moves the wall
// clock of the process it is loaded into, and only the wall clock:
// clock_gettime(CLOCK_REALTIME[_COARSE]), gettimeofday() and time().
// Monotonic and boot clocks, timers and waits are untouched, as when NTP
// steps a clock.
//
// The shift is read from the file named by IOT_CLOCK_SHIFT_FILE: one signed
// integer, milliseconds to add (-600000 steps the clock back 10 minutes); no
// file or no number means no shift. A test rewrites the file while the
// process runs (a temporary file renamed over it): the shim reads it at every
// call, so the step takes effect at the process's next wall-clock reading
// (the daemon reads the wall clock rarely: to sign a login and to log).
//
// Thread: any. It keeps no state but the real clock_gettime's address (an
// atomic); reading the file uses only open/read/close (no allocation, no
// locks), so the wrapped calls stay as safe to call as the real ones.
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>

namespace {

using ClockGettime = int (*)(clockid_t, timespec*);

std::atomic<ClockGettime> real_clock_gettime_fn{nullptr};
ClockGettime real_clock_gettime() {
    ClockGettime fn = real_clock_gettime_fn.load();
    if (fn == nullptr) {
        fn = reinterpret_cast<ClockGettime>(::dlsym(RTLD_NEXT, "clock_gettime"));
        real_clock_gettime_fn.store(fn);
    }
    return fn;
}

// "[-]digits" at the start of the file; anything else is no shift.
std::int64_t read_shift(const char* path) {
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    char text[32] = {};
    const ssize_t got = ::read(fd, text, sizeof text - 1);
    (void)::close(fd);
    if (got <= 0) return 0;
    const char* p = text;
    const bool negative = *p == '-';
    if (negative) ++p;
    std::int64_t value = 0;
    for (; *p >= '0' && *p <= '9'; ++p) value = value * 10 + (*p - '0');
    return negative ? -value : value;
}

std::int64_t current_shift_ms() {
    const char* path = std::getenv("IOT_CLOCK_SHIFT_FILE");  // NOLINT(concurrency-mt-unsafe): nobody sets it later
    if (path == nullptr || *path == '\0') return 0;
    return read_shift(path);
}

void shift_timespec(timespec& ts, std::int64_t ms) {
    std::int64_t ns = static_cast<std::int64_t>(ts.tv_nsec) + (ms % 1000) * 1000000;
    std::int64_t sec = static_cast<std::int64_t>(ts.tv_sec) + ms / 1000;
    if (ns < 0) {
        ns += 1000000000;
        --sec;
    } else if (ns >= 1000000000) {
        ns -= 1000000000;
        ++sec;
    }
    ts.tv_sec = static_cast<time_t>(sec);
    ts.tv_nsec = static_cast<long>(ns);
}

}  // namespace

extern "C" {

int clock_gettime(clockid_t clock, timespec* ts) noexcept {
    const int rc = real_clock_gettime()(clock, ts);
    if (rc == 0 && (clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE)) shift_timespec(*ts, current_shift_ms());
    return rc;
}

int gettimeofday(timeval* tv, void* /*tz*/) noexcept {
    timespec ts{};
    const int rc = clock_gettime(CLOCK_REALTIME, &ts);
    if (rc != 0) return rc;
    tv->tv_sec = ts.tv_sec;
    tv->tv_usec = static_cast<suseconds_t>(ts.tv_nsec / 1000);
    return 0;
}

time_t time(time_t* out) noexcept {
    timespec ts{};
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return static_cast<time_t>(-1);
    if (out != nullptr) *out = ts.tv_sec;
    return ts.tv_sec;
}

}  // extern "C"
