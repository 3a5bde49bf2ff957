// Pieces shared by the SASL mechanism files.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "mailwright/sasl/mechanism.hpp"

namespace mailwright::sasl {

namespace detail {
step fail(std::string reason);
step from_backend(const plugin::auth_result& r, const char* what);
// Success as `authzid` when it is empty, the same, or allowed by the backend; failure otherwise.
asio::awaitable<step> authorize(plugin::auth_backend& auth, std::string authenticated, std::string_view authzid);
std::string default_nonce();
// A saslname (RFC 5801 4, RFC 5802 5.1) unescaped: "=2C" is ',', "=3D" is '='; any other '=' and any ',' are
// malformed (nothing). SCRAM's n= and a=, and the a= of OAUTHBEARER's GS2 header.
std::optional<std::string> unescape_saslname(std::string_view name);
}  // namespace detail

// A SCRAM mechanism by name (SCRAM-SHA-1, SCRAM-SHA-256, and -PLUS), or null.
std::unique_ptr<mechanism> make_scram(std::string_view name, const context& ctx);

// OAUTHBEARER or XOAUTH2 by name (oauth.cpp), or null.
std::unique_ptr<mechanism> make_oauth(std::string_view name, const context& ctx);

}  // namespace mailwright::sasl
