// Error codes of Mailwright's own transport layer. Network outcomes are values, never exceptions: a session
// driver branches on them (a timeout gets a goodbye line, a reset does not).
#pragma once

#include <system_error>

namespace mailwright::net {

enum class errc {
    timeout = 1,  // the read or write deadline passed (the peer is too slow or gone)
    stopping,     // the server is shutting down gracefully; say goodbye and end the session
};

const std::error_category& category() noexcept;

inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), category()}; }

}  // namespace mailwright::net

template <>
struct std::is_error_code_enum<mailwright::net::errc> : std::true_type {};
