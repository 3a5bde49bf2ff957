// The SMTP command line parsers (mailwright/smtp/command.hpp, address.hpp) and the UTF-8 checks they use
// (mailwright/io/utf8.hpp), with the line as the fuzzer gives it:
//  - parse(): the verb is the first word (case-insensitive), the argument the rest of the line after one
//    space, a view into the line; the arity rules of command.hpp; the same answer twice;
//  - parse_mail()/parse_rcpt() and parse_path(): whatever is accepted is a mailbox RFC 5321 4.1.2 allows
//    and address.hpp promises: local part at most 64 octets (a Dot-string or a Quoted-string), domain at most
//    255, no NUL or control character anywhere, non-ASCII only with SMTPUTF8 (from MAIL's parameters, or the
//    transaction for RCPT), <> only for MAIL and <Postmaster> only for RCPT; ESMTP parameters well-formed,
//    at most 16, each keyword once; ASCII text parses the same with and without SMTPUTF8, and what parses
//    without it parses with it;
//  - io::well_formed_utf8 and smtp::valid_utf8_text against RFC 3629's table of well-formed sequences.
//
// Input: one command line (terminator stripped), e.g. "MAIL FROM:<a@example.org> SIZE=10 SMTPUTF8".
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "mailwright/io/utf8.hpp"
#include "mailwright/smtp/address.hpp"
#include "mailwright/smtp/command.hpp"
#include "mailwright/smtp/parameters.hpp"

namespace {

using namespace mailwright;
using smtp::verb;

char upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c; }

bool same_ascii_ci(std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return upper(x) == upper(y); });
}

bool inside(std::string_view part, std::string_view whole) {
    return part.empty() || (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

// RFC 3629 4: the well-formed byte sequences, as ranges per position.
struct utf8_scan {
    bool well_formed = true;
    bool control = false;  // C0, DEL or C1
};

utf8_scan scan_utf8(std::string_view text) {
    utf8_scan out;
    auto in = [](unsigned char c, unsigned lo, unsigned hi) { return c >= lo && c <= hi; };
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        auto at = [&](std::size_t k) -> unsigned char {
            return i + k < text.size() ? static_cast<unsigned char>(text[i + k]) : 0;
        };
        std::size_t n = 0;
        if (c <= 0x7f) {
            n = 1;
            out.control = out.control || c < 0x20 || c == 0x7f;
        } else if (in(c, 0xc2, 0xdf) && in(at(1), 0x80, 0xbf)) {
            n = 2;
            out.control = out.control || (c == 0xc2 && at(1) < 0xa0);  // U+0080-U+009F
        } else if ((c == 0xe0 && in(at(1), 0xa0, 0xbf)) || (in(c, 0xe1, 0xec) && in(at(1), 0x80, 0xbf)) ||
                   (c == 0xed && in(at(1), 0x80, 0x9f)) || (in(c, 0xee, 0xef) && in(at(1), 0x80, 0xbf))) {
            n = in(at(2), 0x80, 0xbf) ? 3 : 0;
        } else if ((c == 0xf0 && in(at(1), 0x90, 0xbf)) || (in(c, 0xf1, 0xf3) && in(at(1), 0x80, 0xbf)) ||
                   (c == 0xf4 && in(at(1), 0x80, 0x8f))) {
            n = in(at(2), 0x80, 0xbf) && in(at(3), 0x80, 0xbf) ? 4 : 0;
        }
        if (n == 0) {
            out.well_formed = false;
            return out;
        }
        i += n;
    }
    return out;
}

bool has_non_ascii(std::string_view text) {
    return std::any_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

void check_utf8(std::string_view text) {
    const auto s = scan_utf8(text);
    FUZZ_CHECK(io::well_formed_utf8(text) == s.well_formed, "well_formed_utf8 disagrees with RFC 3629's table");
    FUZZ_CHECK(io::has_non_ascii(text) == has_non_ascii(text), "has_non_ascii is wrong");
    FUZZ_CHECK(smtp::valid_utf8_text(text) == (s.well_formed && !s.control),
               "valid_utf8_text disagrees: well-formed UTF-8 without C0, DEL or C1");
}

// What every accepted mailbox must be. `rcpt`: <Postmaster> may stand alone; `utf8`: SMTPUTF8 is in force.
// RFC 5321 4.1.3: "[" IPv4-address-literal "]" or "[IPv6:" IPv6-addr "]", made of digits, hex digits, dots and
// colons only; RFC 5321 4.1.2: otherwise LDH labels (and U-labels with SMTPUTF8).
bool domain_charset(std::string_view domain) {
    if (domain.starts_with('[')) {
        std::string_view inner = domain.substr(1, domain.size() - 2);
        const bool v6 = inner.size() > 5 && same_ascii_ci(inner.substr(0, 5), "IPv6:");
        if (v6) {
            inner.remove_prefix(5);
        }
        return domain.ends_with(']') && std::all_of(inner.begin(), inner.end(), [&](char c) {
                   return (c >= '0' && c <= '9') || c == '.' ||
                          (v6 && (c == ':' || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')));
               });
    }
    return std::all_of(domain.begin(), domain.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
               static_cast<unsigned char>(c) >= 0x80;
    });
}

void check_mailbox(const smtp::mailbox& box, std::string_view text, bool rcpt, bool utf8) {
    if (fuzz::skip_known() && box.domain.starts_with('[') && !domain_charset(box.domain)) {
        return;  // known: address literals take whatever asio ignores (regressions/fuzz_smtp_command)
    }
    for (char c : box.local + box.domain) {
        const auto u = static_cast<unsigned char>(c);
        FUZZ_CHECK(u >= 0x20 && u != 0x7f, "a control character or NUL in an accepted address");
    }
    FUZZ_CHECK(box.utf8 == (has_non_ascii(box.local) || has_non_ascii(box.domain)), "mailbox::utf8 is wrong");
    FUZZ_CHECK(!box.utf8 || utf8, "a non-ASCII address accepted without SMTPUTF8");
    if (box.utf8) {
        FUZZ_CHECK(scan_utf8(box.local).well_formed && scan_utf8(box.domain).well_formed,
                   "an address that is not well-formed UTF-8");
    }
    if (box.domain.empty()) {
        FUZZ_CHECK(rcpt && same_ascii_ci(box.local, "postmaster"), "an address without a domain");
        return;
    }
    FUZZ_CHECK(!box.local.empty() && box.local.size() <= 64, "a local part longer than 64 octets (or empty)");
    FUZZ_CHECK(box.domain.size() <= 255, "a domain longer than 255 octets");
    FUZZ_CHECK(smtp::valid_domain(box.domain, utf8), "an accepted domain that valid_domain refuses");
    FUZZ_CHECK(domain_charset(box.domain), "a domain with characters RFC 5321 4.1.2/4.1.3 does not allow");
    if (box.local.front() == '"') {
        FUZZ_CHECK(box.local.size() >= 2 && box.local.back() == '"', "an unbalanced quoted local part");
    } else {
        // Dot-string: atoms of atext separated by single dots (RFC 5321 4.1.2).
        static constexpr std::string_view not_atext = " \"(),:;<>@[\\]";
        FUZZ_CHECK(box.local.find_first_of(not_atext) == std::string::npos,
                   "a character outside atext in an unquoted local part");
        FUZZ_CHECK(box.local.front() != '.' && box.local.back() != '.' && box.local.find("..") == std::string::npos,
                   "a local part with an empty atom");
    }
    FUZZ_CHECK(text.find(box.local + "@" + box.domain + ">") != std::string_view::npos,
               "the mailbox is not what the path said");
}

void check_path(std::string_view text, bool allow_null, bool allow_postmaster) {
    const auto ascii = smtp::parse_path(text, allow_null, allow_postmaster, false);
    const auto utf8 = smtp::parse_path(text, allow_null, allow_postmaster, true);
    for (const auto* r : {&ascii, &utf8}) {
        if (r->error != smtp::address_error::none) {
            FUZZ_CHECK(!r->box.has_value(), "a mailbox with an error");
            continue;
        }
        FUZZ_CHECK(r->consumed >= 2 && r->consumed <= text.size() && r->consumed <= 256,
                   "a path consumed outside the text or beyond 256 octets");
        FUZZ_CHECK(text.front() == '<' && text[r->consumed - 1] == '>', "a path not in angle brackets");
        if (!r->box) {
            FUZZ_CHECK(allow_null && r->consumed == 2, "a null path where none is allowed");
        } else {
            check_mailbox(*r->box, text.substr(0, r->consumed), allow_postmaster, r == &utf8);
        }
    }
    if (ascii.error == smtp::address_error::none) {
        FUZZ_CHECK(utf8.error == smtp::address_error::none && utf8.consumed == ascii.consumed &&
                       utf8.box.has_value() == ascii.box.has_value() &&
                       (!utf8.box || (utf8.box->local == ascii.box->local && utf8.box->domain == ascii.box->domain)),
                   "a path accepted without SMTPUTF8 reads differently with it");
    }
    if (!has_non_ascii(text)) {
        FUZZ_CHECK(ascii.error == utf8.error, "SMTPUTF8 changes the verdict on an ASCII path");
    }
}

void check_envelope(const smtp::envelope_command& e, std::string_view argument, bool mail, bool utf8) {
    if (e.error) {
        FUZZ_CHECK(e.error.category() == smtp::error_category() && !e.error.message().empty(),
                   "an envelope error without its category or message");
        FUZZ_CHECK(!e.box.has_value(), "a mailbox with an error");
        return;
    }
    FUZZ_CHECK(mail || e.box.has_value(), "RCPT accepted the null path");
    FUZZ_CHECK(e.parameters.size() <= 16, "more than 16 parameters");
    bool smtputf8 = false;
    for (std::size_t i = 0; i < e.parameters.size(); ++i) {
        const auto& p = e.parameters[i];
        FUZZ_CHECK(inside(p.keyword, argument) && (!p.value || inside(*p.value, argument)),
                   "a parameter that is not a view into the argument");
        FUZZ_CHECK(!p.keyword.empty(), "an empty parameter keyword");
        for (std::size_t k = 0; k < p.keyword.size(); ++k) {
            const char c = p.keyword[k];
            const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
            FUZZ_CHECK(alnum || (k > 0 && c == '-'), "a parameter keyword outside esmtp-keyword");
        }
        if (p.value) {
            FUZZ_CHECK(!p.value->empty(), "an empty parameter value");
            for (char c : *p.value) {
                const auto u = static_cast<unsigned char>(c);
                FUZZ_CHECK((u >= 33 && u <= 126 && c != '=') || u >= 0x80, "a parameter value outside esmtp-value");
            }
        }
        for (std::size_t j = 0; j < i; ++j) {
            FUZZ_CHECK(!same_ascii_ci(e.parameters[j].keyword, p.keyword), "a parameter given twice");
        }
        smtputf8 = smtputf8 || (same_ascii_ci(p.keyword, "SMTPUTF8") && !p.value);
    }
    if (e.box) {
        check_mailbox(*e.box, argument, !mail, mail ? smtputf8 : utf8);
    }
}

// What parameters.hpp accepts is what it promises: a known BODY spelled the server's way, RET FULL or HDRS,
// an ENVID of xtext within 100 octets, NOTIFY and ORCPT as RFC 3461 says.
void check_mail_parameters(const smtp::envelope_command& m) {
    if (m.error) {
        return;
    }
    for (const bool binary : {false, true}) {
        const auto p = smtp::read_mail_parameters(m.parameters, binary);
        if (p.error != smtp::parameter_error::none) {
            continue;
        }
        FUZZ_CHECK(p.body.empty() || p.body == "7BIT" || p.body == "8BITMIME" || (binary && p.body == "BINARYMIME"),
                   "a BODY value the server does not take");
        FUZZ_CHECK(p.ret.empty() || p.ret == "FULL" || p.ret == "HDRS", "a RET value that is neither FULL nor HDRS");
        FUZZ_CHECK(p.envid.empty() || (p.envid.size() <= 100 && smtp::valid_xtext(p.envid)),
                   "an ENVID that is not short xtext");
    }
}

void check_rcpt_parameters(const smtp::envelope_command& r) {
    if (r.error) {
        return;
    }
    const auto p = smtp::read_rcpt_parameters(r.parameters);
    if (p.error == smtp::parameter_error::none) {
        FUZZ_CHECK(p.notify.empty() || smtp::valid_notify(p.notify), "a NOTIFY list RFC 3461 does not allow");
        FUZZ_CHECK(p.orcpt.empty() || (p.orcpt.find(';') != std::string::npos && p.orcpt.front() != ';'),
                   "an ORCPT without its address type");
    }
}

// A BDAT size is taken only when the argument is all digits, with " LAST" at most after them.
void check_bdat(std::string_view argument) {
    const auto chunk = smtp::parse_bdat(argument);
    if (!chunk) {
        return;
    }
    const std::string_view digits = argument.substr(0, argument.find(' '));
    FUZZ_CHECK(
        !digits.empty() && std::all_of(digits.begin(), digits.end(), [](char ch) { return ch >= '0' && ch <= '9'; }),
        "a BDAT size that is not a decimal number");
    FUZZ_CHECK(chunk->last == (digits.size() != argument.size()), "LAST read where it was not written");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string owned(reinterpret_cast<const char*>(data), size);
    const std::string_view line(owned);

    const auto c = smtp::parse(line);
    const auto again = smtp::parse(line);
    FUZZ_CHECK(c.v == again.v && c.error == again.error && c.argument == again.argument &&
                   c.argument.data() == again.argument.data(),
               "parse is not deterministic");

    // The reference: the first word names the verb, the argument is what follows its space.
    const auto space = line.find(' ');
    const std::string_view word = line.substr(0, space);
    std::optional<verb> named;
    for (std::size_t i = 0; i < smtp::verb_count; ++i) {
        if (same_ascii_ci(word, smtp::to_string(static_cast<verb>(i)))) {
            named = static_cast<verb>(i);
        }
    }
    if (line.empty()) {
        FUZZ_CHECK(c.error == smtp::errc::empty_line, "an empty line is not empty_line");
    } else if (!named) {
        FUZZ_CHECK(c.error == smtp::errc::unknown_command, "an unknown verb is not unknown_command");
    } else {
        FUZZ_CHECK(c.v == *named, "another verb than the first word names");
        const std::string_view argument = space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
        FUZZ_CHECK(c.argument == argument && (argument.empty() || c.argument.data() == argument.data()),
                   "the argument is not the rest of the line after one space");
        bool valid = true;
        switch (*named) {
            case verb::data:
            case verb::rset:
            case verb::quit:
            case verb::starttls:
                valid = space == std::string_view::npos;
                break;
            case verb::noop:
            case verb::help:
                break;
            default:
                valid = !argument.empty();
                break;
        }
        FUZZ_CHECK(valid == !c.error, "the arity rule of command.hpp is not applied");
        if (c.error) {
            FUZZ_CHECK(c.error == smtp::errc::syntax, "an arity error that is not syntax");
        }
    }

    check_utf8(line);
    if (c.v == verb::mail && !c.error) {
        const auto m = smtp::parse_mail(c.argument);
        check_envelope(m, c.argument, true, false);
        check_mail_parameters(m);
    }
    if (c.v == verb::rcpt && !c.error) {
        const auto r = smtp::parse_rcpt(c.argument, false);
        check_envelope(r, c.argument, false, false);
        check_envelope(smtp::parse_rcpt(c.argument, true), c.argument, false, true);
        check_rcpt_parameters(r);
    }
    if (c.v == verb::bdat) {
        check_bdat(c.argument);
    }
    // The path parser on its own, from the first '<' on.
    if (const auto lt = line.find('<'); lt != std::string_view::npos) {
        for (int flags = 0; flags < 4; ++flags) {
            check_path(line.substr(lt), (flags & 1) != 0, (flags & 2) != 0);
        }
    }
    return 0;
}
