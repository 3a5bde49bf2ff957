// fault_point: see the header.
#include "mailwright/testing/fault.hpp"

#include <unistd.h>

#include <cstdlib>
#include <string>

namespace mailwright::testing {

void fault_point(std::string_view name) noexcept {
    static const std::string crash_at = [] {
        const char* value = std::getenv("MAILWRIGHT_CRASH_AT");
        return std::string(value != nullptr ? value : "");
    }();
    if (!crash_at.empty() && crash_at == name) {
        ::_exit(75);
    }
}

}  // namespace mailwright::testing
