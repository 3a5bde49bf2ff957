// The access plugin's rule engine (plugins/access): patterns, the rules file parser with its errors and
// limits, first-match lookup, the replies, and re-reading the file.
#include "rules.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "rules_file.hpp"
#include "temp_dir.hpp"

using namespace mailwright::access;
using mailwright::plugin::reply;

namespace {

pattern must_parse(subject what, std::string_view text) {
    std::string error;
    const auto p = parse_pattern(what, text, error);
    INFO(text << ": " << error);
    REQUIRE(p);
    return *p;
}

std::string parse_error(subject what, std::string_view text) {
    std::string error;
    CHECK_FALSE(parse_pattern(what, text, error));
    return error;
}

bool client_matches(std::string_view pattern_text, std::string_view address) {
    const auto ip = parse_ip(address);
    REQUIRE(ip);
    return matches(must_parse(subject::client, pattern_text), *ip);
}

bool address_matches(subject what, std::string_view pattern_text, std::string_view value) {
    return matches(must_parse(what, pattern_text), what, to_lower(value));
}

std::shared_ptr<const rule_set> rules_of(std::string_view text) {
    auto parsed = parse_rules(text);
    INFO(parsed.line << ": " << parsed.error);
    REQUIRE(parsed.rules);
    return parsed.rules;
}

// The line and message of the first error in `text`.
std::pair<std::size_t, std::string> error_of(std::string_view text) {
    const auto parsed = parse_rules(text);
    CHECK_FALSE(parsed.rules);
    return {parsed.line, parsed.error};
}

std::string smtp(const reply& r) { return std::to_string(r.code) + " " + r.enhanced + " " + r.text; }

void write_file(const std::filesystem::path& path, const std::string& text) {
    const auto tmp = path.string() + ".new";
    std::ofstream(tmp) << text;
    std::filesystem::rename(tmp, path);  // a new inode: seen as a change at once
}

}  // namespace

TEST_CASE("access: client networks, IPv4 and IPv6, compared as bits", "[access]") {
    CHECK(client_matches("192.0.2.0/24", "192.0.2.77"));
    CHECK_FALSE(client_matches("192.0.2.0/24", "192.0.3.1"));
    CHECK(client_matches("192.0.2.128/25", "192.0.2.200"));
    CHECK_FALSE(client_matches("192.0.2.128/25", "192.0.2.127"));
    CHECK(client_matches("192.0.2.1", "192.0.2.1"));
    CHECK_FALSE(client_matches("192.0.2.1", "192.0.2.10"));
    CHECK(client_matches("0.0.0.0/0", "203.0.113.9"));
    CHECK(client_matches("10.0.0.0/8", "::ffff:10.1.2.3"));  // an IPv4 client on a dual-stack socket
    CHECK(client_matches("2001:db8::/32", "2001:db8:ffff::1"));
    CHECK_FALSE(client_matches("2001:db8::/32", "2001:db9::1"));
    CHECK(client_matches("::1", "::1"));
    CHECK(client_matches("fe80::/10", "fe80::1%eth0"));
    CHECK(client_matches("::/0", "2001:db8::1"));
    // One family never matches the other.
    CHECK_FALSE(client_matches("::/0", "192.0.2.1"));
    CHECK_FALSE(client_matches("0.0.0.0/0", "2001:db8::1"));
}

TEST_CASE("access: a bad client pattern says what would be right", "[access]") {
    CHECK(parse_error(subject::client, "192.0.2.1/24") ==
          "host bits are set after the first 24; did you mean 192.0.2.0/24?");
    CHECK(parse_error(subject::client, "2001:db8::1/32") ==
          "host bits are set after the first 32; did you mean 2001:db8::/32?");
    CHECK(parse_error(subject::client, "192.0.2.0/33")
              .starts_with("the prefix length after '/' must be a number from 0 to 32"));
    CHECK(parse_error(subject::client, "::/129").ends_with("0 to 128"));
    CHECK(parse_error(subject::client, "192.0.2.0/").starts_with("the prefix length"));
    CHECK(parse_error(subject::client, "192.0.2.0/2x").starts_with("the prefix length"));
    CHECK(parse_error(subject::client, "192.0.2").starts_with("expected an IP address or network"));
    CHECK(parse_error(subject::client, "mail.example.org").starts_with("expected an IP address"));
    CHECK(parse_error(subject::client, "fe80::1%eth0").starts_with("expected an IP address"));
}

TEST_CASE("access: globs are bounded and exact", "[access]") {
    CHECK(glob_match("*", ""));
    CHECK(glob_match("*", "anything"));
    CHECK(glob_match("a?c", "abc"));
    CHECK_FALSE(glob_match("a?c", "ac"));
    CHECK(glob_match("*.example.org", "mx.example.org"));
    CHECK_FALSE(glob_match("*.example.org", "example.org"));
    CHECK(glob_match("bounce-*@*.example", "bounce-42@lists.example"));
    CHECK_FALSE(glob_match("bounce-*@*.example", "bounce-42@lists.example.net"));
    CHECK(glob_match("a*b*c", "aXXbYYc"));
    CHECK_FALSE(glob_match("a*b*c", "aXXbYY"));
    // '*' and '?' in the value are characters like any other: a sender cannot slip past a rule with them.
    CHECK(glob_match("*@spam.example", "*x@spam.example"));
    CHECK(glob_match("*@spam.example", "*@spam.example"));
    CHECK(glob_match("*-bounces@*.example", "*-x-bounces@a.example"));
    CHECK(glob_match("?x@spam.example", "*x@spam.example"));
    CHECK_FALSE(glob_match("a*", "*a"));
    // The pattern that makes a backtracking matcher exponential: answered in pattern x value steps (an
    // exponential one would not finish within the test's time limit).
    const std::string value(1000, 'a');
    CHECK_FALSE(glob_match("a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", value));
}

TEST_CASE("access: address patterns: exact, domain, domain tree, local part, glob, <>", "[access]") {
    const auto s = subject::sender;
    CHECK(address_matches(s, "spam@bad.example", "Spam@Bad.Example"));
    CHECK_FALSE(address_matches(s, "spam@bad.example", "spam@bad.example.net"));
    CHECK(address_matches(s, "@bad.example", "x@bad.example"));
    CHECK_FALSE(address_matches(s, "@bad.example", "x@mx.bad.example"));
    CHECK(address_matches(s, "bad.example", "x@bad.example"));
    CHECK(address_matches(s, "bad.example", "x@mx.BAD.example"));
    CHECK_FALSE(address_matches(s, "bad.example", "x@notbad.example"));
    CHECK_FALSE(address_matches(s, "bad.example", "bad.example"));
    CHECK(address_matches(s, "mailer-daemon@", "MAILER-DAEMON@anywhere.example"));
    CHECK_FALSE(address_matches(s, "mailer-daemon@", "daemon@anywhere.example"));
    CHECK(address_matches(s, "*@*.bad.example", "x@mx.bad.example"));
    CHECK(address_matches(s, "<>", ""));
    CHECK_FALSE(address_matches(s, "<>", "x@example.org"));
    CHECK_FALSE(address_matches(s, "@bad.example", ""));
    CHECK_FALSE(address_matches(s, "bad.example", ""));
    // The domain is after the last '@': a quoted local part may hold one.
    CHECK(address_matches(s, "@bad.example", "\"a@good.example\"@bad.example"));
    // <Postmaster> without a domain: its local part, and no domain.
    const auto r = subject::recipient;
    CHECK(address_matches(r, "postmaster@", "Postmaster"));
    CHECK_FALSE(address_matches(r, "postmaster", "Postmaster"));
    CHECK(parse_error(r, "<>") == "<> (the null reverse-path) is a sender, never a recipient");
    CHECK(parse_error(s, "@").starts_with("expected @domain"));
    CHECK(parse_error(s, "user@bad..example") == "the domain after '@' is not a domain name");
    CHECK(parse_error(s, "bad/example").starts_with("expected user@domain"));
}

TEST_CASE("access: HELO patterns: a name and its subdomains, an address literal, a glob", "[access]") {
    const auto h = subject::helo;
    CHECK(address_matches(h, "dynamic.example", "dynamic.example"));
    CHECK(address_matches(h, "dynamic.example", "host-1.Dynamic.Example"));
    CHECK_FALSE(address_matches(h, "dynamic.example", "notdynamic.example"));
    CHECK(address_matches(h, "[192.0.2.1]", "[192.0.2.1]"));
    CHECK(address_matches(h, "localhost*", "localhost.localdomain"));
    CHECK(address_matches(h, "*", "anything"));
    CHECK(parse_error(h, "bad name").starts_with("expected a host name"));
    CHECK(parse_error(h, ".example").starts_with("expected a host name"));
}

TEST_CASE("access: the rules file: comments, blank lines, CRLF, and each kind in its own list", "[access]") {
    const auto rules = rules_of(
        "# the list\n"
        "\n"
        "   # indented comment\n"
        "client 192.0.2.0/24 reject\r\n"
        "helo\tlocalhost\ttempfail\n"
        "sender <> accept\n"
        "recipient @example.org reject 550 5.7.1 no mail for you here\n");
    CHECK(rules->size() == 4);
    const auto& recipients = rules->by_subject[static_cast<std::size_t>(subject::recipient)];
    REQUIRE(recipients.size() == 1);
    CHECK(recipients[0].line == 7);
    CHECK(recipients[0].code == 550);
    CHECK(recipients[0].enhanced == "5.7.1");
    CHECK(recipients[0].text == "no mail for you here");
    CHECK(rules->by_subject[static_cast<std::size_t>(subject::client)][0].line == 4);
    CHECK(rules_of("")->size() == 0);
    CHECK(rules_of("sender x@example.org reject")->size() == 1);  // no final line end
}

TEST_CASE("access: a bad rule is reported with its line and what would be right", "[access]") {
    using result = std::pair<std::size_t, std::string>;
    CHECK(error_of("sender a@b.example accept\nfrom a@b.example reject\n") ==
          result{2, "expected client, helo, sender or recipient at the start of the rule"});
    CHECK(error_of("\n\nsender\n") == result{3, "expected a pattern after sender"});
    CHECK(error_of("sender a@b.example deny\n") == result{1, "expected accept, reject or tempfail after the pattern"});
    CHECK(error_of("sender a@b.example\n").second == "expected accept, reject or tempfail after the pattern");
    CHECK(error_of("sender a@b.example accept 250 ok\n").second ==
          "accept takes no reply: the protocol answers as usual");
    CHECK(error_of("sender a@b.example reject 450\n").second == "reject takes a 5xx code, e.g. 550");
    CHECK(error_of("sender a@b.example tempfail 550\n").second == "tempfail takes a 4xx code, e.g. 450");
    CHECK(error_of("sender a@b.example reject 5500\n").second == "an SMTP reply code has three digits");
    CHECK(error_of("sender a@b.example reject 550 4.7.1 x\n").second ==
          "the enhanced status code must be of the reply's class (5.x.y)");
    CHECK(error_of("client 192.0.2.1 tempfail 450\n").second.starts_with("a client rule that tempfails answers 421"));
    CHECK(
        error_of("client 192.0.2.1 reject 550\n").second.starts_with("a client rule that rejects answers 554 or 521"));
    CHECK(error_of("sender a@b.example reject 550 5.7.1 caf\xc3\xa9\n").second ==
          "the reply text may hold printable ASCII only (RFC 5321 4.2)");
    CHECK(error_of("client 192.0.2.1/24 reject\n").first == 1);
}

TEST_CASE("access: the rules file is bounded: line length and rule count", "[access]") {
    const std::string long_line = "sender a@b.example reject 550 5.7.1 " + std::string(max_line_length, 'x');
    CHECK(error_of("# ok\n" + long_line + "\n") ==
          std::pair<std::size_t, std::string>{2, "a line is at most 1000 characters"});
    std::string many;
    for (std::size_t i = 0; i <= max_rules; ++i) {
        many += "sender user" + std::to_string(i) + "@example.org reject\n";
    }
    const auto [line, error] = error_of(many);
    CHECK(line == max_rules + 1);
    CHECK(error == "more than 20000 rules");
}

TEST_CASE("access: the first matching rule wins, and each phase has its own rules", "[access]") {
    const auto rules = rules_of(
        "recipient postmaster@example.org accept\n"
        "recipient example.org reject\n"
        "sender @example.org tempfail\n"
        "client 192.0.2.0/24 accept\n"
        "client 0.0.0.0/0 reject\n");
    const auto* r = first_match(*rules, subject::recipient, "Postmaster@Example.org");
    REQUIRE(r);
    CHECK(r->verdict == action::accept);
    r = first_match(*rules, subject::recipient, "alice@example.org");
    REQUIRE(r);
    CHECK(r->line == 2);
    CHECK(first_match(*rules, subject::recipient, "alice@example.net") == nullptr);
    CHECK(first_match(*rules, subject::helo, "example.org") == nullptr);
    CHECK(first_match(*rules, subject::client, "192.0.2.5")->verdict == action::accept);
    CHECK(first_match(*rules, subject::client, "198.51.100.5")->line == 5);
    CHECK(first_match(*rules, subject::client, "2001:db8::1") == nullptr);
    CHECK(first_match(*rules, subject::client, "not an address") == nullptr);
}

TEST_CASE("access: replies: as written, and the defaults for what is left out", "[access]") {
    const auto rules = rules_of(
        "sender a@example.org reject 550 5.7.1 Go away\n"
        "sender b@example.org reject\n"
        "sender c@example.org tempfail\n"
        "sender d@example.org reject 553\n"
        "sender e@example.org tempfail 4.7.26 Later please\n"
        "client 192.0.2.1 reject\n"
        "client 192.0.2.2 tempfail\n"
        "client 192.0.2.3 reject 521 5.3.2 This host takes no mail\n"
        "helo localhost reject\n"
        "recipient x@example.org tempfail\n"
        "sender <> accept\n");
    const auto answer = [&](subject what, std::string_view value) {
        return reply_for(*first_match(*rules, what, value), value);
    };
    CHECK(smtp(answer(subject::sender, "a@example.org")) == "550 5.7.1 Go away");
    CHECK(answer(subject::sender, "a@example.org").permanent());
    CHECK(smtp(answer(subject::sender, "B@example.org")) == "554 5.7.1 <B@example.org>: sender refused: access denied");
    CHECK(smtp(answer(subject::sender, "c@example.org")) ==
          "450 4.7.1 <c@example.org>: sender refused for now, try again later");
    CHECK(answer(subject::sender, "c@example.org").temporary());
    CHECK(smtp(answer(subject::sender, "d@example.org")) == "553 5.7.1 <d@example.org>: sender refused: access denied");
    CHECK(smtp(answer(subject::sender, "e@example.org")) == "450 4.7.26 Later please");
    CHECK(smtp(answer(subject::client, "192.0.2.1")) == "554 5.7.1 [192.0.2.1]: client host refused: access denied");
    CHECK(smtp(answer(subject::client, "192.0.2.2")) ==
          "421 4.7.0 [192.0.2.2]: client host refused for now, try again later");
    CHECK(smtp(answer(subject::client, "192.0.2.3")) == "521 5.3.2 This host takes no mail");
    CHECK(smtp(answer(subject::helo, "localhost")) == "554 5.7.1 <localhost>: HELO name refused: access denied");
    CHECK(smtp(answer(subject::recipient, "x@example.org")) ==
          "450 4.7.1 <x@example.org>: recipient refused for now, try again later");
    CHECK(answer(subject::sender, "").ok());
}

TEST_CASE("access: the rules file is read at start and re-read when it changes, never half", "[access]") {
    mailwright::test::temp_dir dir("access-rules");
    const auto path = dir.path() / "access";
    write_file(path, "sender a@example.org reject\n");
    rules_source source(path.string(), std::chrono::milliseconds(50));
    CHECK(source.rules()->size() == 1);
    CHECK_FALSE(source.refresh());  // unchanged

    write_file(path, "sender a@example.org accept\nsender b@example.org reject\n");
    CHECK(source.refresh());
    CHECK(source.rules()->size() == 2);

    // A bad version: the rules in use stay, whole.
    write_file(path, "sender c@example.org reject\nsender d@example.org refuse\n");
    CHECK_FALSE(source.refresh());
    CHECK(source.rules()->size() == 2);
    CHECK(first_match(*source.rules(), subject::sender, "c@example.org") == nullptr);
    // A vanished file too.
    std::filesystem::remove(path);
    CHECK_FALSE(source.refresh());
    CHECK(source.rules()->size() == 2);
    write_file(path, "sender c@example.org reject\n");
    CHECK(source.refresh());
    CHECK(source.rules()->size() == 1);
}

TEST_CASE("access: a bad rules file at start names file:line", "[access]") {
    mailwright::test::temp_dir dir("access-rules");
    const auto path = dir.path() / "access";
    write_file(path, "# fine\nsender a@example.org reject\nclient 192.0.2.1/8 reject\n");
    try {
        rules_source source(path.string());
        FAIL("a bad rule was accepted");
    } catch (const std::runtime_error& e) {
        CHECK(std::string(e.what()) ==
              path.string() + ":3: host bits are set after the first 8; did you mean 192.0.0.0/8?");
    }
    CHECK_THROWS_WITH(rules_source((dir.path() / "missing").string()),
                      Catch::Contains("missing: cannot read the rules file"));
}

TEST_CASE("access: one caller an interval looks at the file", "[access]") {
    mailwright::test::temp_dir dir("access-rules");
    const auto path = dir.path() / "access";
    write_file(path, "");
    rules_source source(path.string(), std::chrono::milliseconds(200));
    const auto now = std::chrono::steady_clock::now();
    CHECK_FALSE(source.due(now));
    const auto later = now + std::chrono::milliseconds(250);
    CHECK(source.due(later));
    CHECK_FALSE(source.due(later));
    CHECK_FALSE(source.due(later + std::chrono::milliseconds(100)));
    CHECK(source.due(later + std::chrono::milliseconds(250)));
}

TEST_CASE("access: lookups on other threads while the rules are swapped see whole rule sets", "[access]") {
    mailwright::test::temp_dir dir("access-rules");
    const auto path = dir.path() / "access";
    write_file(path, "sender a@example.org reject\nsender b@example.org reject\n");
    rules_source source(path.string(), std::chrono::milliseconds(0));
    std::atomic<bool> done{false};
    std::atomic<int> torn{0};
    std::vector<std::thread> readers;
    for (int i = 0; i < 4; ++i) {
        readers.emplace_back([&] {
            while (!done.load()) {
                // Every version of the file has both rules or neither: a reader never sees one without the other.
                const auto rules = source.rules();
                const bool a = first_match(*rules, subject::sender, "a@example.org") != nullptr;
                const bool b = first_match(*rules, subject::sender, "b@example.org") != nullptr;
                torn += a != b ? 1 : 0;
            }
        });
    }
    for (int i = 0; i < 20; ++i) {
        write_file(path, i % 2 == 0 ? "# none\n" : "sender a@example.org reject\nsender b@example.org reject\n");
        CHECK(source.refresh());
    }
    done = true;
    for (auto& t : readers) {
        t.join();
    }
    CHECK(torn == 0);
}
