// Crash points for durability tests, compiled only into test builds. MAILWRIGHT_FAULT_POINT("name") ends the
// process at once (_exit(75), no destructors, no flushing: as a power cut would leave the files) when the
// environment variable MAILWRIGHT_CRASH_AT equals "name". Unless MAILWRIGHT_FAULT_INJECTION is defined (only
// the test suite's own build of a plugin defines it, e.g. tests/integration's maildir_deliver_crash_points)
// the macro expands to nothing: a plugin built for use has no such code path and ignores the variable.
#pragma once

#if defined(MAILWRIGHT_FAULT_INJECTION)
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <string_view>

namespace mailwright::testing {

inline void fault_point(std::string_view name) noexcept {
    static const std::string crash_at = [] {
        const char* value = std::getenv("MAILWRIGHT_CRASH_AT");
        return std::string(value != nullptr ? value : "");
    }();
    if (!crash_at.empty() && crash_at == name) {
        ::_exit(75);
    }
}

}  // namespace mailwright::testing

#define MAILWRIGHT_FAULT_POINT(name) ::mailwright::testing::fault_point(name)
#else
#define MAILWRIGHT_FAULT_POINT(name) static_cast<void>(0)
#endif
