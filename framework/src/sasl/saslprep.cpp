// SASLprep (RFC 4013) over GNU libidn's stringprep, rather than tables of our own: libidn carries RFC 3454's
// tables and its NFKC, and checks the UTF-8 it is given (overlong forms, surrogates and truncated sequences
// are refused).
#include "mailwright/sasl/saslprep.hpp"

#include <stringprep.h>

#include <cstdlib>
#include <cstring>

#include "mailwright/sasl/crypto.hpp"

namespace mailwright::sasl {

namespace {

std::string_view reason(int rc) {
    switch (rc) {
        case STRINGPREP_CONTAINS_UNASSIGNED:
            return "contains a code point unassigned in Unicode 3.2, which a stored string may not hold (RFC 3454 7)";
        case STRINGPREP_CONTAINS_PROHIBITED:
            return "contains a prohibited character, such as a control character (RFC 4013 2.3)";
        case STRINGPREP_BIDI_BOTH_L_AND_RAL:
        case STRINGPREP_BIDI_LEADTRAIL_NOT_RAL:
        case STRINGPREP_BIDI_CONTAINS_PROHIBITED:
            return "breaks the bidirectional rules for right-to-left text (RFC 4013 2.4, RFC 3454 6)";
        case STRINGPREP_ICONV_ERROR:
            return "is not valid UTF-8";
        default:
            return "could not be prepared";
    }
}

// libidn's output, overwritten before it is freed: it is a password as often as not.
void release(char* out) noexcept {
    if (out != nullptr) {
        volatile char* p = out;
        for (std::size_t i = 0, n = std::strlen(out); i < n; ++i) {
            p[i] = 0;
        }
        std::free(out);
    }
}

}  // namespace

prepared saslprep(std::string_view in, prep_kind kind) {
    // libidn reads a C string; a NUL inside would cut the string short, and NUL is prohibited anyway (C.2.1).
    if (in.find('\0') != std::string_view::npos) {
        return {{}, reason(STRINGPREP_CONTAINS_PROHIBITED)};
    }
    std::string copy(in);
    char* out = nullptr;
    const int flags = kind == prep_kind::stored ? STRINGPREP_NO_UNASSIGNED : 0;
    const int rc = stringprep_profile(copy.c_str(), &out, "SASLprep", static_cast<Stringprep_profile_flags>(flags));
    wipe(copy);
    prepared result;
    if (rc != STRINGPREP_OK) {
        result.error = reason(rc);
    } else if (out == nullptr || *out == '\0') {
        result.error = "is empty once prepared (RFC 4013 2.1 maps it to nothing)";
    } else {
        result.text = out;
    }
    release(out);
    return result;
}

credentials::~credentials() { wipe(password); }

credentials prepare_credentials(std::string_view user, std::string_view password) {
    // RFC 4616 2: "If preparation fails or results in an empty string, verification SHALL fail."
    credentials c;
    auto u = saslprep(user, prep_kind::query);
    if (!u.ok()) {
        c.refused = "the user name fails SASLprep: it " + std::string(u.error);
        return c;
    }
    c.user = std::move(u.text);
    auto p = saslprep(password, prep_kind::query);
    if (!p.ok()) {
        c.refused = "the password fails SASLprep: it " + std::string(p.error);
        return c;
    }
    c.password = p.text;  // a copy, then a wipe: moving a short string would leave its bytes behind
    wipe(p.text);
    return c;
}

}  // namespace mailwright::sasl
