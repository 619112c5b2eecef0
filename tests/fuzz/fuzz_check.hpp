// Invariant checks for the fuzz targets: a broken invariant must stop the run
// as a crash (libFuzzer then saves the input), never as a silent return.
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition, what)                                                                             \
    do {                                                                                                        \
        if (!(condition)) {                                                                                     \
            std::fprintf(stderr, "%s:%d: invariant broken: %s (%s)\n", __FILE__, __LINE__, (what), #condition); \
            std::abort();                                                                                       \
        }                                                                                                       \
    } while (false)
