// XCLIENT's argument parser (mailwright/smtp/xclient.hpp), with the argument as the fuzzer gives it:
//  - parse() never reads outside the argument; a refusal names an attribute that is a view into it;
//  - what it accepts is what each attribute may say: ADDR a numeric address that parse_ip reads back to
//    itself (or "unknown"), PORT 0-65535, NAME an LDH domain or empty, HELO printable ASCII, LOGIN without
//    spaces or control characters, at most 255 octets each;
//  - an accepted line, written again from its facts (xtext-encoded), parses to the same facts;
//  - decode_xtext(encode(octets)) gives the octets back, and decode_xtext accepts nothing with an octet
//    outside 33-126, an "=", or a "+" without two upper-case hex digits.
//
// Input: the argument of one XCLIENT command, e.g. "ADDR=192.0.2.7 NAME=client.example HELO=x+2By".
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "mailwright/net/network.hpp"
#include "mailwright/smtp/xclient.hpp"

namespace {

using namespace mailwright;
namespace xc = smtp::xclient;

std::string encode(std::string_view octets) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (const char c : octets) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 33 || u > 126 || c == '+' || c == '=') {
            out += '+';
            out += hex[u >> 4];
            out += hex[u & 15];
        } else {
            out += c;
        }
    }
    return out;
}

bool inside(std::string_view part, std::string_view whole) {
    return part.empty() || (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

// The facts written as an XCLIENT argument again.
std::string rewrite(const xc::facts& f) {
    std::string out;
    auto add = [&](std::string_view name, std::string_view value) {
        out += out.empty() ? "" : " ";
        out += name;
        out += '=';
        out += value.empty() ? std::string("[UNAVAILABLE]") : encode(value);
    };
    if (f.addr) {
        add("ADDR", *f.addr == "unknown" ? "" : (f.addr->find(':') != std::string::npos ? "IPV6:" + *f.addr : *f.addr));
    }
    if (f.port) {
        add("PORT", *f.port == 0 ? "" : std::to_string(*f.port));
    }
    if (f.name) {
        add("NAME", *f.name);
    }
    if (f.helo) {
        add("HELO", *f.helo);
    }
    if (f.login) {
        add("LOGIN", *f.login);
    }
    if (f.esmtp) {
        add("PROTO", *f.esmtp ? "ESMTP" : "SMTP");
    }
    return out;
}

void check_facts(const xc::facts& f) {
    if (f.addr && *f.addr != "unknown") {
        const auto ip = net::parse_ip(*f.addr);
        FUZZ_CHECK(ip && net::to_string(*ip) == *f.addr, "ADDR is a normalised numeric address");
    }
    for (const auto* text : {&f.helo, &f.login, &f.name}) {
        if (*text) {
            FUZZ_CHECK((*text)->size() <= xc::max_value, "a value is at most 255 octets");
            for (const char c : **text) {
                const auto u = static_cast<unsigned char>(c);
                FUZZ_CHECK(u >= 33 && u != 127, "no space or control character in NAME, HELO or LOGIN");
                FUZZ_CHECK(text == &f.login || u <= 126, "NAME and HELO are ASCII");
            }
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    fuzz::quiet_logging();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string input(reinterpret_cast<const char*>(data), size);
    const std::string_view argument(input);

    const auto decoded = xc::decode_xtext(encode(argument));
    FUZZ_CHECK(decoded && *decoded == input, "decode_xtext(encode(x)) == x");
    if (const auto d = xc::decode_xtext(argument)) {
        FUZZ_CHECK(d->size() <= argument.size(), "decoding never grows");
        FUZZ_CHECK(argument.find_first_of("= \r\n") == std::string_view::npos, "xtext has no '=' or space");
    }

    const xc::result r = xc::parse(argument);
    FUZZ_CHECK(inside(r.attribute, argument), "the attribute at fault is a view into the argument");
    if (r.problem != xc::error::none) {
        return 0;
    }
    FUZZ_CHECK(r.attribute.empty(), "no attribute at fault on success");
    check_facts(r.said);
    const std::string again = rewrite(r.said);
    const xc::result r2 = xc::parse(again);
    FUZZ_CHECK(r2.problem == xc::error::none, "the facts written again parse");
    const auto& a = r.said;
    const auto& b = r2.said;
    FUZZ_CHECK(a.addr == b.addr && a.port == b.port && a.name == b.name && a.helo == b.helo && a.login == b.login &&
                   a.esmtp == b.esmtp,
               "the facts written again are the same facts");
    return 0;
}
