// Authentication-Results (RFC 8601): the field this server writes about a session, and the authserv-id a
// field found in a message claims. Sans I/O, never throws but for allocation.
//
// What is written (RFC 8601 2.2, 2.7.4):
//
//   Authentication-Results: <authserv-id>; auth=pass smtp.auth=<user> [(<TLS>)] [(<client certificate>)]
//   Authentication-Results: <authserv-id>; none [(<TLS>)] [(<client certificate>)]
//
// "auth" is the registered method for SMTP AUTH (RFC 8601 2.7.4; property smtp.auth names the authenticated
// identity); "none" says no method was applied (2.2). TLS is not a registered method and an unregistered one
// means nothing to a reader, so the TLS version and cipher and the client certificate's subject go into
// comments, which every reader skips (RFC 5322 3.2.2 CFWS) and people read.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mailwright::headers {

// What the session knew when the message arrived.
struct session_facts {
    std::string user;  // the SMTP AUTH identity; empty without AUTH
    bool tls = false;
    std::string tls_version;  // "TLSv1.3"
    std::string tls_cipher;   // "TLS_AES_256_GCM_SHA384"
    bool client_certificate = false;
    bool client_certificate_verified = false;
    std::string client_subject;  // "/CN=alice"
};

// The whole field, "Authentication-Results: ..." on one line without its line end.
std::string authentication_results(std::string_view authserv_id, const session_facts& facts);

// The authserv-id a field value claims (RFC 8601 2.2: after optional CFWS, a token or a quoted-string), without
// quotes or escapes; nothing when the value does not start with one. The token ends where RFC 2045 says,
// at the first space, control character or tspecial: "ours.example/x; ..." claims "ours.example".
std::optional<std::string> claimed_authserv_id(std::string_view value);

// RFC 2045 5.1: one or more of printable US-ASCII without space and the tspecials.
bool is_token(std::string_view text) noexcept;

// A comment (RFC 5322 3.2.2) that reads `text`: parentheses and backslashes escaped as quoted-pairs.
std::string comment(std::string_view text);

// A pvalue (RFC 8601 2.2) that reads `text`: as it is when it is a token or local-part@domain made of atoms,
// else a quoted-string.
std::string property_value(std::string_view text);

}  // namespace mailwright::headers
