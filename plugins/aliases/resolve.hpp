// Resolution: the local users an address in a local domain reaches through an alias_map, in Postfix
// virtual(5)'s order. For "user+tag@example.org" with the delimiter "+", the first of these keys that has an
// entry decides:
//
//   user+tag@example.org, user@example.org, user+tag, user, @example.org
//
// ("postmaster" in any case skips the catch-all: RFC 5321 4.5.1's address is the server's, not the
// catch-all's; the bare <Postmaster> looks up "postmaster" only). An entry's targets are taken in order: a
// user is final, an address is resolved again the same way (one that names the address being resolved is
// final: its local part, without extension, is the user), a domain target resolves the same local part in
// that domain. An address target with no entry reaches the user its local part names. Each address is
// expanded once, so a target reached twice gives one copy, and the work is bounded by the map, not by how
// often its entries refer to each other.
//
// When nothing matches the address itself: if it has an extension, its user ("user" for "user+tag"), else
// it is not the map's (the server's own rule applies: the local part is the user, postmaster is the
// configured one).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "alias_map.hpp"

namespace mailwright::aliases {

struct resolved {
    enum class kind {
        not_mine,  // no entry and no extension: the server's own rule
        users,     // deliver to `users` (in order, each once)
        loop,      // an address reached itself through others: `trail` shows the way round
        too_deep,  // nested deeper than options::max_depth: `trail` shows the way down
        too_many,  // more than options::max_users users
    } what = kind::not_mine;
    std::vector<std::string> users;
    std::string trail;  // "a@example.org (map:3) -> b@example.org (map:4) -> a@example.org"
};

// `domain` is empty for <Postmaster> (local_part is then "postmaster"). Never throws but for std::bad_alloc.
resolved resolve(const alias_map& map, std::string_view local_part, std::string_view domain);

}  // namespace mailwright::aliases
