// What the fuzz targets share: invariant checks that abort (libFuzzer then saves the input), and running a
// coroutine to completion on a private io_context.
#pragma once

#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string_view>

#include "support.hpp"

// An invariant of the code under test. On violation: say which, where, and abort, so that libFuzzer records a
// crash and keeps the input as an artifact.
#define FUZZ_CHECK(condition, what)                                             \
    do {                                                                        \
        if (!(condition)) {                                                     \
            ::mailwright::fuzz::violated(#condition, what, __FILE__, __LINE__); \
        }                                                                       \
    } while (false)

namespace mailwright::fuzz {

[[noreturn]] inline void violated(const char* condition, std::string_view what, const char* file, int line) {
    std::fprintf(stderr, "\n==fuzz== invariant violated at %s:%d: %s\n==fuzz== %.*s\n", file, line, condition,
                 static_cast<int>(what.size()), what.data());
    std::abort();
}

// MAILWRIGHT_FUZZ_SKIP_KNOWN=1: inputs that reach a finding already recorded in tests/fuzz/regressions/ (and
// README.md) are passed over instead of aborting, so that a run can look for other ones before the fix lands.
inline bool skip_known() {
    static const bool skip = std::getenv("MAILWRIGHT_FUZZ_SKIP_KNOWN") != nullptr;
    return skip;
}

// Logging would cost more than the code under test and flood the terminal.
inline void quiet_logging() { spdlog::set_level(spdlog::level::off); }

// Runs `task` to completion with the test suite's runner (tests/support.hpp). An exception escaping it, or a
// coroutine that never finishes (it waits for something nobody will do), is a finding.
template <class T>
T run(asio::awaitable<T> task) {
    try {
        return mailwright::test::run(std::move(task));
    } catch (const std::exception& e) {
        violated("no exception, and the coroutine finishes", e.what(), __FILE__, __LINE__);
    } catch (...) {
        violated("no exception", "an exception not derived from std::exception", __FILE__, __LINE__);
    }
}

}  // namespace mailwright::fuzz
