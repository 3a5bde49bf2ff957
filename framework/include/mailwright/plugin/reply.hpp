// What a plugin answers, so that it can say exactly what the client hears: a hook's refusal, a store's answer
// for each recipient, an auth backend's temporary failure. One type for every plugin kind and protocol.
//
// `result` is the decision; the rest is how to say it, and every part may be left to the protocol:
//   SMTP/LMTP  "<code> <enhanced> <text>"   e.g. reply::smtp(450, "4.7.1", "try again later")
//   POP3       "-ERR [<pop3_code>] <text>"  e.g. a refusal with pop3_code "LOGIN-DELAY" (RFC 2449 8.1)
// A part the protocol cannot use as given (a code of the wrong class, an enhanced code that does not start
// with the code's digit, a malformed response code) is replaced by the protocol's own; control characters in
// the text are replaced by spaces, so no plugin can write a second reply line.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

namespace mailwright::plugin {

struct reply {
    enum class outcome {
        ok,         // accepted (a hook: no objection; the protocol answers as usual)
        temporary,  // refused for now: the client may try again (SMTP 4xx, POP3 -ERR [SYS/TEMP])
        permanent,  // refused (SMTP 5xx, POP3 -ERR)
    };

    outcome result = outcome::ok;
    std::uint16_t code = 0;  // SMTP/LMTP reply code of the result's class (2xx, 4xx, 5xx); 0: the protocol's
    std::string enhanced;    // RFC 3463 status code ("5.2.2"); empty: the protocol's
    std::string text;        // one line of human-readable text; empty: the protocol's
    std::string pop3_code;   // RFC 2449 response code ("IN-USE", "SYS/TEMP"); empty: the protocol's

    bool ok() const noexcept { return result == outcome::ok; }
    bool temporary() const noexcept { return result == outcome::temporary; }
    bool permanent() const noexcept { return result == outcome::permanent; }

    static reply accept(std::string text = {}) { return reply{outcome::ok, 0, {}, std::move(text), {}}; }
    static reply tempfail(std::string text = {}) { return reply{outcome::temporary, 0, {}, std::move(text), {}}; }
    static reply reject(std::string text = {}) { return reply{outcome::permanent, 0, {}, std::move(text), {}}; }
    // An exact SMTP reply; the outcome follows the code's class (anything but 2xx and 4xx refuses for good).
    static reply smtp(std::uint16_t code, std::string enhanced, std::string text) {
        const auto r = code / 100 == 2 ? outcome::ok : code / 100 == 4 ? outcome::temporary : outcome::permanent;
        return reply{r, code, std::move(enhanced), std::move(text), {}};
    }
};

}  // namespace mailwright::plugin
