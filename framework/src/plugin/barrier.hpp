// The fault barrier: the one mechanism every call from the framework into a plugin goes through (auth
// backends, hooks, the mailstore and what it hands out, services). A plugin is C++ code the framework does
// not control: whatever it throws (a std::exception, or `throw 1;`) is caught here, logged with the plugin's
// name, the call and the answer given instead, and the caller answers with its safe fallback (a temporary
// failure, "no", "not stored"). Only that one call fails; the session and every other one go on. At load
// time the same text (describe) goes into the load error that stops the start. A service plugin's serve()
// runs under the session's own root, which catches everything in the same way (server.cpp).
#pragma once

#include <asio/awaitable.hpp>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "mailwright/metrics/instruments.hpp"

namespace mailwright::plugin::barrier {

// What was thrown, for a log line or an error: the what() of a std::exception, or that it was none.
std::string describe(std::exception_ptr thrown);

// One log line: "plugin=NAME CALL threw: WHAT; ANSWER".
void report(std::string_view plugin, std::string_view call, std::exception_ptr thrown,
            std::string_view answer) noexcept;

// Awaits `call()`, an awaitable plugin call; its result, or nullopt (reported) when it threw. `call` is
// taken by reference: name it before the co_await (g++ 12 destroys temporaries in a co_await expression
// twice, docs/architecture.md). The time it takes goes into mailwright_plugin_call_duration_seconds.
template <class Call>
auto guard(std::string_view plugin, std::string_view call_name, std::string_view answer, Call& call)
    -> asio::awaitable<std::optional<typename std::invoke_result_t<Call&>::value_type>> {
    const metrics::plugin_call_timer timed(plugin, call_name);
    std::exception_ptr thrown;
    try {
        co_return co_await call();
    } catch (...) {
        thrown = std::current_exception();
    }
    report(plugin, call_name, thrown, answer);
    co_return std::nullopt;
}

// The same for a call that does not wait: false (reported) when it threw.
template <class Call>
bool guard_now(std::string_view plugin, std::string_view call_name, std::string_view answer, Call&& call) {
    try {
        call();
        return true;
    } catch (...) {
        report(plugin, call_name, std::current_exception(), answer);
        return false;
    }
}

}  // namespace mailwright::plugin::barrier
