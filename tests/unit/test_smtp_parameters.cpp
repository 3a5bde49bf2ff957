// What MAIL's and RCPT's ESMTP parameters say, and BDAT's chunk size (smtp/parameters.hpp).
#include "mailwright/smtp/parameters.hpp"

#include <catch2/catch.hpp>
#include <cctype>
#include <string>

using namespace mailwright::smtp;

namespace {

mail_parameters mail(std::string_view argument, bool binarymime = false) {
    const auto m = parse_mail(argument);
    REQUIRE(!m.error);
    return read_mail_parameters(m.parameters, binarymime);
}

rcpt_parameters rcpt(std::string_view argument) {
    const auto r = parse_rcpt(argument, false);
    REQUIRE(!r.error);
    return read_rcpt_parameters(r.parameters);
}

// The same text with its letters in another case, to show keywords and values ignore it.
std::string flip_case(std::string text) {
    for (char& c : text) {
        c = std::isupper(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c))
                                                        : static_cast<char>(std::toupper(c));
    }
    return text;
}

}  // namespace

TEST_CASE("smtp parameters: MAIL, what each parameter says", "[smtp][parameters]") {
    const auto all = mail("FROM:<a@b.example> SIZE=1000 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=QQ314159 AUTH=<>");
    CHECK(all.error == parameter_error::none);
    CHECK(all.size == 1000u);
    CHECK(all.body == "8BITMIME");
    CHECK(all.smtputf8);
    CHECK(all.ret == "HDRS");
    CHECK(all.envid == "QQ314159");

    const auto none = mail("FROM:<a@b.example>");
    CHECK(none.error == parameter_error::none);
    CHECK(!none.size);
    CHECK(none.body.empty());
    CHECK(!none.smtputf8);

    CHECK(mail("FROM:<> BODY=7bit").body == "7BIT");  // the server's spelling
    CHECK(mail("FROM:<> SIZE=18446744073709551615").size == 18446744073709551615u);
    CHECK(mail("FROM:<> AUTH=alice+40example.org").error == parameter_error::none);
}

TEST_CASE("smtp parameters: MAIL, refused parameters", "[smtp][parameters]") {
    // (An empty value, "SIZE=", is refused by the grammar already: parse_mail's errc::bad_parameter.)
    struct named_case {
        const char* argument;
        parameter_error error;
    };
    const named_case cases[] = {
        {"FROM:<> SIZE=+1", parameter_error::bad_size},
        {"FROM:<> SIZE=12k", parameter_error::bad_size},
        {"FROM:<> SIZE=-1", parameter_error::bad_size},
        {"FROM:<> SIZE=18446744073709551616", parameter_error::bad_size},  // one past 2^64-1
        {"FROM:<> SIZE", parameter_error::unsupported},
        {"FROM:<> BODY=BINARYMIME", parameter_error::unsupported},  // not offered by this store
        {"FROM:<> BODY=9BIT", parameter_error::unsupported},
        {"FROM:<> BODY", parameter_error::unsupported},
        {"FROM:<> SMTPUTF8=yes", parameter_error::unsupported},
        {"FROM:<> RET=ALL", parameter_error::unsupported},
        {"FROM:<> ENVID=has+2", parameter_error::unsupported},  // xtext: "+" needs two hex digits
        {"FROM:<> AUTH=a+zz", parameter_error::unsupported},
        {"FROM:<> XFORWARD=1", parameter_error::unsupported},
    };
    for (const auto& c : cases) {
        INFO(c.argument);
        CHECK(mail(c.argument).error == c.error);
    }
    CHECK(mail("FROM:<> BODY=BINARYMIME", true).body == "BINARYMIME");
    CHECK(mail(std::string("FROM:<> ENVID=") + std::string(100, 'x')).error == parameter_error::none);
    CHECK(mail(std::string("FROM:<> ENVID=") + std::string(101, 'x')).error == parameter_error::unsupported);
}

TEST_CASE("smtp parameters: RCPT NOTIFY and ORCPT", "[smtp][parameters]") {
    const auto both = rcpt("TO:<a@b.example> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;a+40b.example");
    CHECK(both.error == parameter_error::none);
    CHECK(both.notify == "SUCCESS,DELAY");
    CHECK(both.orcpt == "rfc822;a+40b.example");
    CHECK(rcpt("TO:<a@b.example>").notify.empty());
    struct named_case {
        const char* argument;
        bool ok;
    };
    const named_case cases[] = {
        {"TO:<a@b.example> NOTIFY=NEVER", true},
        {"TO:<a@b.example> NOTIFY=FAILURE", true},
        {"TO:<a@b.example> NOTIFY=NEVER,SUCCESS", false},
        {"TO:<a@b.example> NOTIFY=SUCCESS,SUCCESS", false},
        {"TO:<a@b.example> NOTIFY=,", false},
        {"TO:<a@b.example> NOTIFY=SUCCESS,", false},
        {"TO:<a@b.example> NOTIFY", false},
        {"TO:<a@b.example> ORCPT=rfc822", false},
        {"TO:<a@b.example> ORCPT=;a@b", false},
        {"TO:<a@b.example> ORCPT=rfc822;a+zz", false},
        {"TO:<a@b.example> SIZE=10", false},
    };
    for (const auto& c : cases) {
        INFO(c.argument);
        CHECK((rcpt(c.argument).error == parameter_error::none) == c.ok);
    }
}

TEST_CASE("smtp parameters: keywords and values in any case", "[smtp][parameters]") {
    const std::string line = "FROM:<a@b.example> SIZE=10 BODY=8BITMIME SMTPUTF8 RET=FULL";
    const auto flipped = mail(flip_case(line));
    CHECK(flipped.error == parameter_error::none);
    CHECK(flipped.body == "8BITMIME");
    CHECK(flipped.ret == "FULL");
    CHECK(flipped.smtputf8);
    CHECK(rcpt(flip_case("TO:<a@b.example> NOTIFY=success,delay")).error == parameter_error::none);
}

TEST_CASE("smtp parameters: a parameter cut anywhere is never taken for another", "[smtp][parameters]") {
    // Like the other parsers, every split point: each prefix of a good parameter list is either refused or
    // says less, never something else, and never reads past its end.
    const std::string whole = "FROM:<a@b.example> SIZE=1234 BODY=8BITMIME RET=HDRS ENVID=QQ314159";
    for (std::size_t cut = std::string("FROM:<a@b.example>").size(); cut <= whole.size(); ++cut) {
        const std::string prefix = whole.substr(0, cut);
        INFO(prefix);
        const auto m = parse_mail(prefix);
        if (m.error) {
            continue;
        }
        const auto p = read_mail_parameters(m.parameters, false);
        if (p.error != parameter_error::none) {
            continue;
        }
        CHECK((!p.size || std::string("1234").starts_with(std::to_string(*p.size))));
        CHECK((p.body.empty() || p.body == "8BITMIME"));
        CHECK((p.ret.empty() || p.ret == "HDRS"));
        CHECK((p.envid.empty() || std::string("QQ314159").starts_with(p.envid)));
    }
}

TEST_CASE("smtp parameters: BDAT's size and LAST", "[smtp][parameters]") {
    REQUIRE(parse_bdat("0"));
    CHECK(parse_bdat("0")->size == 0);
    CHECK(!parse_bdat("0")->last);
    REQUIRE(parse_bdat("65536 LAST"));
    CHECK(parse_bdat("65536 LAST")->size == 65536);
    CHECK(parse_bdat("65536 last")->last);
    for (const char* bad : {"", " ", "LAST", "10 LAST X", "10  LAST", "10 FIRST", "-1", "+5", "1e3", "0x10",
                            "18446744073709551616", "10 "}) {
        INFO(bad);
        CHECK(!parse_bdat(bad));
    }
}
