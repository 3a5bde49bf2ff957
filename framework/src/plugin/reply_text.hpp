// How a plugin's reply (plugin/reply.hpp) becomes the line a client hears: the one translation for every
// plugin kind and both protocols. What a plugin left empty, or gave in a form the protocol cannot use, is
// replaced by the protocol's own words for that place (`fallback`); the text is cleaned of control
// characters, so a plugin cannot add a reply line of its own. Private to the framework.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "mailwright/plugin/reply.hpp"

namespace mailwright::plugin {

// The protocol's words at one place, for one outcome: "451", "4.7.1", "refused by policy".
struct smtp_words {
    std::uint16_t code;
    std::string_view enhanced;
    std::string_view text;
};

// "<code> <enhanced> <text>" without the CRLF. `fallback` must be of the reply's outcome.
std::string smtp_line(const reply& r, const smtp_words& fallback);

// The text after "-ERR " (or "+OK "): "[CODE] text" without the CRLF. `code` is used when the reply names
// none; empty: no response code.
std::string pop3_text(const reply& r, std::string_view code, std::string_view text);

// The reply as a temporary failure, whatever outcome it names: for the places where nothing else can be
// meant (an auth backend that could not decide).
inline reply as_temporary(reply r) {
    r.result = reply::outcome::temporary;
    return r;
}

// The text with every control character (CR, LF, NUL, ...) and DEL replaced by a space, cut at 400 octets.
std::string clean_text(std::string_view text);

}  // namespace mailwright::plugin
