// The client messages of OAUTHBEARER (RFC 7628 3.1) and XOAUTH2 (Google's and Microsoft's), and the error
// document a refused client is sent (RFC 7628 3.2.2). Pure functions, apart from the mechanisms (oauth.cpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mailwright::sasl::oauth {

struct client_message {
    std::string user;   // OAUTHBEARER's authzid (a=, unescaped; may be empty), XOAUTH2's user= (never empty)
    std::string token;  // the bearer token (RFC 6750 2.1 b64token)
};

// gs2-header kvsep *kvpair kvsep, with gs2-header "n," or "y," then [ "a=" saslname ] ",", and one
// "auth=Bearer <token>" among the pairs. None when malformed, when the pairs hold no bearer token, or when the
// client asks for channel binding ("p="), which OAUTHBEARER here does not offer.
std::optional<client_message> parse_oauthbearer(std::string_view message);

// "user=" user kvsep "auth=Bearer " token kvsep kvsep. None when malformed.
std::optional<client_message> parse_xoauth2(std::string_view message);

// The JSON a refused client hears: OAUTHBEARER's {"status":"invalid_token","schemes":"bearer",...} (RFC 7628
// 3.2.2, 4.3) or XOAUTH2's {"status":"401","schemes":"Bearer",...} (as Google sends it); "scope" and
// "openid-configuration" only when not empty.
std::string error_document(bool xoauth2, std::string_view scope, std::string_view openid_configuration);

}  // namespace mailwright::sasl::oauth
