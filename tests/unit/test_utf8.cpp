// UTF-8 validation: the well-formed and each way of being ill-formed (RFC 3629 3, 4).
#include "mailwright/io/utf8.hpp"

#include <catch2/catch.hpp>

using mailwright::io::has_non_ascii;
using mailwright::io::well_formed_utf8;

TEST_CASE("utf8: well-formed text", "[utf8]") {
    CHECK(well_formed_utf8(""));
    CHECK(well_formed_utf8("ascii"));
    CHECK(well_formed_utf8("jörg"));              // 2 octets
    CHECK(well_formed_utf8("\xe2\x82\xac"));      // U+20AC, 3 octets
    CHECK(well_formed_utf8("\xf0\x9f\x93\xa7"));  // U+1F4E7, 4 octets
    CHECK(well_formed_utf8("\xf4\x8f\xbf\xbf"));  // U+10FFFF, the last
    CHECK(has_non_ascii("jörg"));
    CHECK_FALSE(has_non_ascii("joerg"));
}

TEST_CASE("utf8: ill-formed text", "[utf8]") {
    CHECK_FALSE(well_formed_utf8("\x80"));              // a continuation first
    CHECK_FALSE(well_formed_utf8("\xc3"));              // truncated
    CHECK_FALSE(well_formed_utf8("\xc3x"));             // not a continuation
    CHECK_FALSE(well_formed_utf8("\xc0\xaf"));          // overlong "/"
    CHECK_FALSE(well_formed_utf8("\xe0\x80\xaf"));      // overlong, 3 octets
    CHECK_FALSE(well_formed_utf8("\xed\xa0\x80"));      // a surrogate, U+D800
    CHECK_FALSE(well_formed_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
    CHECK_FALSE(well_formed_utf8("\xf5\x80\x80\x80"));  // F5 never starts a sequence
    CHECK_FALSE(well_formed_utf8("\xe2\x82"));          // truncated at the end
}
