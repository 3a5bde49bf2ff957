// SASLprep (RFC 4013): the examples of its section 3, the stored/query difference for unassigned code points
// (RFC 3454 7), what is refused (NUL, bad UTF-8, nothing left), and the preparation of a login's strings.
#include "mailwright/sasl/saslprep.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace mailwright;
using sasl::prep_kind;
using namespace std::string_literals;

TEST_CASE("saslprep: the RFC 4013 section 3 examples", "[saslprep]") {
    for (const auto kind : {prep_kind::query, prep_kind::stored}) {
        INFO((kind == prep_kind::query ? "query" : "stored"));
        CHECK(sasl::saslprep("I\u00ADX", kind).text == "IX");  // SOFT HYPHEN mapped to nothing
        CHECK(sasl::saslprep("user", kind).text == "user");    // no transformation
        CHECK(sasl::saslprep("USER", kind).text == "USER");    // case preserved, will not match #2
        CHECK(sasl::saslprep("\u00AA", kind).text == "a");     // output is NFKC, input in ISO 8859-1
        CHECK(sasl::saslprep("\u2168", kind).text == "IX");    // output is NFKC, will match #1
        const auto bell = sasl::saslprep("\u0007", kind);      // error: prohibited character
        CHECK_FALSE(bell.ok());
        CHECK(bell.error.find("prohibited") != std::string_view::npos);
        const auto bidi = sasl::saslprep("\u0627\u0031", kind);  // error: bidirectional check
        CHECK_FALSE(bidi.ok());
        CHECK(bidi.error.find("bidirectional") != std::string_view::npos);
        CHECK(sasl::saslprep("\u0627\u0031\u0628", kind).text == "\u0627\u0031\u0628");  // RAL at both ends
    }
}

TEST_CASE("saslprep: spaces are mapped, the ASCII ones kept", "[saslprep]") {
    CHECK(sasl::saslprep("pass\u00A0word", prep_kind::stored).text == "pass word");  // NO-BREAK SPACE
    CHECK(sasl::saslprep("pass\u3000word", prep_kind::stored).text == "pass word");  // IDEOGRAPHIC SPACE
    CHECK(sasl::saslprep(" pass word ", prep_kind::stored).text == " pass word ");
    CHECK(sasl::saslprep("!\"#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~", prep_kind::stored).ok());
}

TEST_CASE("saslprep: unassigned code points pass in a query, not in a stored string", "[saslprep]") {
    // U+0221 was unassigned in Unicode 3.2, the version stringprep's tables are.
    const auto query = sasl::saslprep("x\u0221", prep_kind::query);
    CHECK(query.ok());
    CHECK(query.text == "x\u0221");
    const auto stored = sasl::saslprep("x\u0221", prep_kind::stored);
    CHECK_FALSE(stored.ok());
    CHECK(stored.error.find("unassigned") != std::string_view::npos);
}

TEST_CASE("saslprep: refused input", "[saslprep]") {
    for (const auto& bad : {"pw\0x"s, "\0"s, "tab\tbed"s, "\x7f"s, "\xff\xfe"s, "\xc0\x80"s, "\xed\xa0\x80"s,
                            "a\xe2\x80"s, "\xf4\x90\x80\x80"s, "\u00AD"s, ""s}) {
        INFO(bad);
        const auto r = sasl::saslprep(bad, prep_kind::query);
        CHECK_FALSE(r.ok());
        CHECK(r.text.empty());
    }
    CHECK(sasl::saslprep("\xc0\x80", prep_kind::query).error == "is not valid UTF-8");
    CHECK(sasl::saslprep("\u00AD\u200C\uFE00", prep_kind::query).error.find("empty") != std::string_view::npos);
}

TEST_CASE("saslprep: a login's user name and password", "[saslprep]") {
    const auto good = sasl::prepare_credentials("\u2168", "a\u00A0b");
    CHECK(good.refused.empty());
    CHECK(good.user == "IX");
    CHECK(good.password == "a b");
    const auto bad_user = sasl::prepare_credentials("a\u0007", "pw");
    CHECK_THAT(bad_user.refused, Catch::StartsWith("the user name fails SASLprep: it contains a prohibited"));
    CHECK(bad_user.password.empty());
    const auto bad_password = sasl::prepare_credentials("alice", "\u0627\u0031");
    CHECK_THAT(bad_password.refused, Catch::StartsWith("the password fails SASLprep: it breaks the bidirectional"));
    CHECK(bad_password.user == "alice");
    CHECK(bad_password.password.empty());
}
