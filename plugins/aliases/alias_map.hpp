// The aliases plugin's map: which addresses stand for which local users, in the format of Postfix's
// virtual(5) table. One entry per logical line:
//
//   # a comment line (its first non-blank character is '#'); blank lines are ignored
//   sales@example.org      alice, bob          local users (no '@')
//   info@example.org       sales@example.org   an address: looked up again, recursively
//   alice@example.org      alice@example.org, archive
//                                              an address naming itself is final (alice keeps her copy)
//   postmaster             alice               a bare local part: that address in every local domain
//   @example.net           carol               a catch-all: every address of example.net without an entry
//   @old.example           @example.org        a domain alias: user@old.example is looked up as user@example.org
//   team@example.org       alice,
//       bob                                    a line that starts with blanks continues the one above
//
// Targets are separated by commas and/or blanks. Domains are compared ignoring ASCII case; local parts
// exactly as written (RFC 5321 2.4), except "postmaster", which is the same address in any case (4.5.1),
// unless the map is made with ignore_local_part_case. Targets must be local mailboxes: an address target
// with no entry of its own delivers to the user its local part names, whatever its domain (forwarding to
// other servers is not done here). Programs ("|cmd"), files ("/path") and ":include:" are refused.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mailwright::aliases {

struct options {
    // Recipient delimiters (Postfix recipient_delimiter): the local part is cut at the first of these
    // characters that is not its first, so "user+tag" and "user-tag" both mean "user" with "+-". Empty: none.
    std::string delimiters = "+";
    bool ignore_local_part_case = false;
    // Bounds on one resolution: how deep addresses may nest, and how many users one address may reach.
    // Past either the recipient is refused rather than half delivered.
    std::size_t max_depth = 20;
    std::size_t max_users = 1000;
};

// A whole file is refused past this size: the map lives in memory, once per version in use.
constexpr std::size_t max_map_size = 64u * 1024 * 1024;

// An address; `domain` is empty for a bare local part and for the bare "<Postmaster>".
struct address {
    std::string local;
    std::string domain;  // lower case
    bool operator==(const address&) const = default;
};

struct target {
    enum class kind { user, address, domain } what;  // domain: "@example.org", the local part is kept
    std::string user;                                // kind::user: the local user name, as written
    address to;                                      // kind::address (to.local empty for kind::domain)
};

struct entry {
    std::vector<target> targets;
    std::string origin;  // where it was written: "path:line" or "entries[N]", for the log
};

class alias_map {
  public:
    explicit alias_map(options o = {}) : options_(std::move(o)) {}

    // Adds one logical line (no comment, continuations joined). Returns what is wrong with it, if anything.
    std::optional<std::string> add(std::string_view line, std::string origin);

    // The entry for a key as key_of() spells it, if any.
    const entry* find(const std::string& key) const;
    std::size_t size() const noexcept { return entries_.size(); }
    const options& settings() const noexcept { return options_; }

    // How an address is spelled as a key: "local@domain", "local" (bare) or "@domain" (catch-all), with
    // postmaster (and, if so configured, every local part) in lower case.
    std::string key_of(std::string_view local, std::string_view domain) const;

    // The local part without its extension: "user" for "user+tag" (the first delimiter not in front).
    std::string_view stripped(std::string_view local) const noexcept;

  private:
    options options_;
    std::unordered_map<std::string, entry> entries_;
};

// Where a problem is in a text of many lines.
struct parse_error {
    std::size_t line = 0;
    std::string what;
};

// Adds every entry of a file's text (comments, blank lines, continuation lines) to `map`; entries are named
// "<name>:<line>". Stops at the first problem.
std::optional<parse_error> add_text(alias_map& map, std::string_view text, std::string_view name);

// Splits "local@domain" (at the last '@'), "@domain" and "local"; lower-cases the domain.
address split_address(std::string_view text);

}  // namespace mailwright::aliases
