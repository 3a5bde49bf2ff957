// The fault barrier's log line: see barrier.hpp.
#include "barrier.hpp"

#include <spdlog/spdlog.h>

#include <utility>

namespace mailwright::plugin::barrier {

std::string describe(std::exception_ptr thrown) {
    try {
        std::rethrow_exception(std::move(thrown));
    } catch (const std::exception& e) {
        return e.what();
    } catch (...) {
        return "it threw something that is not a std::exception";  // `throw 1;` is legal C++
    }
}

void report(std::string_view plugin, std::string_view call, std::exception_ptr thrown,
            std::string_view answer) noexcept {
    try {
        try {
            std::rethrow_exception(std::move(thrown));
        } catch (const std::exception& e) {
            spdlog::error("plugin={} {} threw: {}; {}", plugin, call, e.what(), answer);
        } catch (...) {
            spdlog::error("plugin={} {} threw a non-standard exception; {}", plugin, call, answer);
        }
    } catch (...) {  // the log itself failed (no memory): nothing more to do
    }
}

}  // namespace mailwright::plugin::barrier
