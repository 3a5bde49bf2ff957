// Crash points for durability tests. fault_point("name") ends the process at once (_exit(75), no
// destructors, no flushing: as a power cut would leave the files) when the environment variable
// MAILWRIGHT_CRASH_AT equals "name". Without that variable it costs one comparison with an empty string.
#pragma once

#include <string_view>

namespace mailwright::testing {

void fault_point(std::string_view name) noexcept;

}  // namespace mailwright::testing
