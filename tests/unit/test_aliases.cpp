// The aliases plugin's engine (plugins/aliases): parsing the virtual(5)-like map, and resolving an address
// to local users through it, with its order, its loops and its bounds.
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "alias_map.hpp"
#include "map_source.hpp"
#include "resolve.hpp"
#include "temp_dir.hpp"

using namespace mailwright::aliases;
using kind = resolved::kind;
using users = std::vector<std::string>;

namespace {

alias_map parsed(std::string_view text, options o = {}) {
    alias_map map(std::move(o));
    const auto wrong = add_text(map, text, "virtual");
    INFO((wrong ? std::to_string(wrong->line) + ": " + wrong->what : std::string()));
    REQUIRE(!wrong);
    return map;
}

parse_error error_of(std::string_view text) {
    alias_map map;
    const auto wrong = add_text(map, text, "virtual");
    REQUIRE(wrong);
    return *wrong;
}

users to(const alias_map& map, std::string_view local, std::string_view domain) {
    const auto r = resolve(map, local, domain);
    INFO(local << "@" << domain << " trail " << r.trail);
    REQUIRE(r.what == kind::users);
    return r.users;
}

void write(const std::filesystem::path& path, std::string_view text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
}

}  // namespace

TEST_CASE("aliases map: entries, comments, blank and continuation lines", "[aliases]") {
    const auto map = parsed(
        "# the team\n"
        "\n"
        "sales@example.org   alice, bob\r\n"
        "   # a comment inside does not end the entry\n"
        "team@example.org    alice,\n"
        "    bob carol ,dave\n"
        "@example.net        catch\n"
        "postmaster          root\n");
    CHECK(map.size() == 4);
    REQUIRE(map.find("sales@example.org"));
    CHECK(map.find("sales@example.org")->origin == "virtual:3");
    CHECK(map.find("team@example.org")->targets.size() == 4);
    CHECK(map.find("team@example.org")->origin == "virtual:5");
    CHECK(map.find("@example.net"));
    CHECK(map.find("postmaster"));
    CHECK(to(map, "team", "example.org") == users{"alice", "bob", "carol", "dave"});
}

TEST_CASE("aliases map: a bad line is named with what is wrong", "[aliases]") {
    auto e = error_of("ok@example.org a\nbad@example.org\n");
    CHECK(e.line == 2);
    CHECK(e.what == "'bad@example.org' has no target");
    CHECK(error_of("a@x.org b\n\n  c\n\na@x.org d\n").what.find("appears twice (first at virtual:1)") !=
          std::string::npos);
    CHECK(error_of("  b@x.org c\n").what.find("continuation line") != std::string::npos);
    CHECK(error_of("a@ b\n").what.find("no valid domain") != std::string::npos);
    CHECK(error_of("a@b@c.org d\n").what.find("more than one '@'") != std::string::npos);
    CHECK(error_of("\"a b\"@x.org d\n").line == 1);
    CHECK(error_of("a@x.org |/bin/sh\n").what.find("programs, files and :include:") != std::string::npos);
    CHECK(error_of("a@x.org /var/mail/a\n").what.find("programs, files") != std::string::npos);
    CHECK(error_of("a@x.org :include:/etc/list\n").what.find(":include:") != std::string::npos);
    CHECK(error_of("a@x.org b  # not a comment here\n").what.find("'#' starts a comment only") != std::string::npos);
    CHECK(error_of("a@x.org .hidden\n").what.find("not a user name") != std::string::npos);
    CHECK(error_of("a@x.org b@\n").what.find("no valid domain") != std::string::npos);
    CHECK(error_of("a@x.org b\nc@x.org\x01 d\n").line == 2);
    // Domains are one key whatever their case, so this is a duplicate too.
    CHECK(error_of("a@Example.ORG b\na@example.org c\n").line == 2);
}

TEST_CASE("aliases: aliases reach users, recursively, each user once", "[aliases]") {
    const auto map = parsed(
        "info@example.org    sales@example.org, alice\n"
        "sales@example.org   bob, team@example.org\n"
        "team@example.org    alice, carol, bob\n");
    CHECK(to(map, "info", "example.org") == users{"bob", "alice", "carol"});
    CHECK(to(map, "team", "example.org") == users{"alice", "carol", "bob"});
    // An address with no entry anywhere, and no extension, is not the map's.
    const auto r = resolve(map, "zed", "example.org");
    CHECK(r.what == kind::not_mine);
    CHECK(r.users.empty());
}

TEST_CASE("aliases: an address target with no entry is the user its local part names", "[aliases]") {
    const auto map = parsed(
        "list@example.org    nobody@example.org, bob+lists@example.org, carol@elsewhere.example\n"
        "self@example.org    self@example.org, archive\n");
    // The framework checks each with the auth backend: an unknown one ("nobody") refuses the recipient.
    CHECK(to(map, "list", "example.org") == users{"nobody", "bob", "carol"});
    // An address naming itself is final: its own user keeps a copy.
    CHECK(to(map, "self", "example.org") == users{"self", "archive"});
}

TEST_CASE("aliases: an alias loop is found and shown, not followed", "[aliases]") {
    const auto map = parsed(
        "a@example.org   b@example.org\n"
        "b@example.org   alice, c@example.org\n"
        "c@example.org   a@example.org\n"
        "d@example.org   bob, d2@example.org\n"
        "d2@example.org  d@example.org, carol\n");
    const auto r = resolve(map, "a", "example.org");
    CHECK(r.what == kind::loop);
    CHECK(r.users.empty());
    CHECK(r.trail ==
          "a@example.org (virtual:1) -> b@example.org (virtual:2) -> c@example.org (virtual:3) -> a@example.org");
    CHECK(resolve(map, "d", "example.org").what == kind::loop);
    CHECK(resolve(map, "c", "example.org").what == kind::loop);
    // A catch-all that sends an address to one that falls to the catch-all again is a loop too.
    const auto catchall = parsed("@example.net   x@example.org\n@example.org   y@example.net\n");
    CHECK(resolve(catchall, "anyone", "example.net").what == kind::loop);
}

TEST_CASE("aliases: a diamond is not a loop, and costs one walk per address", "[aliases]") {
    // Each level names the next twice over: without remembering what was expanded this is 2^30 walks.
    std::string text;
    for (int i = 0; i < 30; ++i) {
        text += "l" + std::to_string(i) + "@x.org  l" + std::to_string(i + 1) + "@x.org, m" + std::to_string(i) +
                "@x.org\n";
        text += "m" + std::to_string(i) + "@x.org  l" + std::to_string(i + 1) + "@x.org\n";
    }
    text += "l30@x.org  bottom\n";
    options o;
    o.max_depth = 100;
    const auto map = parsed(text, o);
    const auto started = std::chrono::steady_clock::now();
    CHECK(to(map, "l0", "x.org") == users{"bottom"});
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(1));
}

TEST_CASE("aliases: catch-all per domain, after every more precise key", "[aliases]") {
    const auto map = parsed(
        "@example.org        catch\n"
        "bob@example.org     bob\n"
        "carol               carol-box\n"
        "@example.net        net-catch, @example.org\n");
    CHECK(to(map, "anyone", "example.org") == users{"catch"});
    CHECK(to(map, "bob", "example.org") == users{"bob"});
    CHECK(to(map, "carol", "example.org") == users{"carol-box"});
    // A domain target keeps the local part: bob@example.net is also bob@example.org.
    CHECK(to(map, "bob", "example.net") == users{"net-catch", "bob"});
    CHECK(to(map, "zed", "example.net") == users{"net-catch", "catch"});
    // No catch-all for this domain: the server's own rule.
    CHECK(resolve(map, "anyone", "example.com").what == kind::not_mine);
}

TEST_CASE("aliases: the recipient delimiter, with several delimiter characters", "[aliases]") {
    options o;
    o.delimiters = "+-";
    const auto map = parsed(
        "bob+special@example.org   special\n"
        "bob@example.org           bob-box\n"
        "@example.net              catch\n",
        o);
    CHECK(to(map, "bob+special", "example.org") == users{"special"});  // the whole address comes first
    CHECK(to(map, "bob+other", "example.org") == users{"bob-box"});
    CHECK(to(map, "bob-other", "example.org") == users{"bob-box"});
    CHECK(to(map, "bob+a-b", "example.org") == users{"bob-box"});  // cut at the first delimiter
    // No entry: the user without the extension, not "not mine".
    CHECK(to(map, "alice+tag", "example.org") == users{"alice"});
    CHECK(to(map, "alice-tag", "example.org") == users{"alice"});
    CHECK(resolve(map, "alice", "example.org").what == kind::not_mine);
    // A delimiter in front is no delimiter: there is no user before it.
    CHECK(resolve(map, "+tag", "example.org").what == kind::not_mine);
    // The extended address before the catch-all, the catch-all before the fallback.
    CHECK(to(map, "x+y", "example.net") == users{"catch"});
    // An address target with an extension and no entry: its user.
    const auto targets = parsed("list@example.org  dave+lists@example.org\n", o);
    CHECK(to(targets, "list", "example.org") == users{"dave"});
}

TEST_CASE("aliases: no delimiters, no extensions", "[aliases]") {
    options o;
    o.delimiters = "";
    const auto map = parsed("bob@example.org  bob-box\n", o);
    CHECK(resolve(map, "bob+tag", "example.org").what == kind::not_mine);
    CHECK(to(map, "bob", "example.org") == users{"bob-box"});
}

TEST_CASE("aliases: domains ignore case, local parts keep it but postmaster", "[aliases]") {
    const auto map = parsed(
        "Sales@Example.ORG   alice\n"
        "PostMaster          root\n"
        "@Example.NET        catch\n");
    CHECK(to(map, "Sales", "example.org") == users{"alice"});
    CHECK(to(map, "Sales", "EXAMPLE.org") == users{"alice"});
    CHECK(resolve(map, "sales", "example.org").what == kind::not_mine);
    CHECK(to(map, "postmaster", "example.org") == users{"root"});
    CHECK(to(map, "POSTMASTER", "example.org") == users{"root"});
    CHECK(to(map, "anyone", "example.NET") == users{"catch"});
    options o;
    o.ignore_local_part_case = true;
    const auto folded = parsed("Sales@Example.ORG   alice\n", o);
    CHECK(to(folded, "sALES", "example.org") == users{"alice"});
}

TEST_CASE("aliases: postmaster in every local domain, never taken by a catch-all", "[aliases]") {
    const auto bare = parsed("postmaster  root\n@example.org  catch\n");
    CHECK(to(bare, "postmaster", "example.org") == users{"root"});
    CHECK(to(bare, "Postmaster", "other.example") == users{"root"});
    CHECK(to(bare, "postmaster", "") == users{"root"});  // <Postmaster>
    const auto per_domain = parsed("postmaster@example.org  root\n@example.org  catch\n@example.net  catch\n");
    CHECK(to(per_domain, "postmaster", "example.org") == users{"root"});
    // No postmaster entry for that domain (nor a bare one): the server's configured postmaster, not the catch-all.
    CHECK(resolve(per_domain, "postmaster", "example.net").what == kind::not_mine);
    CHECK(resolve(per_domain, "postmaster", "").what == kind::not_mine);
}

TEST_CASE("aliases: nesting deeper than max_depth is refused", "[aliases]") {
    std::string text;
    for (int i = 0; i < 25; ++i) {
        text += "a" + std::to_string(i) + "@x.org  a" + std::to_string(i + 1) + "@x.org\n";
    }
    text += "a25@x.org  bottom\n";
    const auto map = parsed(text);  // max_depth 20
    const auto deep = resolve(map, "a0", "x.org");
    CHECK(deep.what == kind::too_deep);
    CHECK(deep.users.empty());
    CHECK(deep.trail.starts_with("a0@x.org (virtual:1) -> a1@x.org (virtual:2) -> "));
    // 20 steps down from a5 is a25, whose entry names a user: within the bound.
    CHECK(to(map, "a5", "x.org") == users{"bottom"});
    CHECK(resolve(map, "a4", "x.org").what == kind::too_deep);
}

TEST_CASE("aliases: more users than max_users is refused", "[aliases]") {
    std::string text = "all@x.org  ";
    for (int i = 0; i < 12; ++i) {
        text += "u" + std::to_string(i) + (i % 2 ? ", " : " ");
    }
    text += "\n";
    options o;
    o.max_users = 12;
    CHECK(to(parsed(text, o), "all", "x.org").size() == 12);
    o.max_users = 11;
    const auto r = resolve(parsed(text, o), "all", "x.org");
    CHECK(r.what == kind::too_many);
    CHECK(r.users.empty());
}

TEST_CASE("aliases map file: read at start, re-read on change, the old map kept when the new is bad", "[aliases]") {
    mailwright::test::temp_dir dir("mailwright-aliases");
    const auto path = dir.path() / "virtual";
    write(path, "a@x.org  alice\n");
    map_recipe recipe{{}, path.string(), {"b@x.org  bob"}};
    map_source source(recipe, std::chrono::milliseconds(0));
    CHECK(source.map()->size() == 2);
    CHECK(!source.refresh());  // unchanged
    write(path, "a@x.org  alice\nc@x.org  carol, dave\n");
    CHECK(source.refresh());
    CHECK(to(*source.map(), "c", "x.org") == users{"carol", "dave"});
    write(path, "a@x.org  alice\nbroken@x.org\n");
    CHECK(!source.refresh());
    CHECK(to(*source.map(), "c", "x.org") == users{"carol", "dave"});  // the previous map, whole
    // The file against the inline entries: one key twice is a bad map too.
    write(path, "b@x.org  other\n");
    CHECK(!source.refresh());
    CHECK(source.map()->size() == 3);
    CHECK_THROWS_WITH(load_map({{}, (dir.path() / "absent").string(), {}}),
                      Catch::Contains("cannot read the alias map"));
    write(path, "ok@x.org  a\nnotarget@x.org\n");
    CHECK_THROWS_WITH(load_map(recipe), Catch::Contains(path.string() + ":2: 'notarget@x.org' has no target"));
    CHECK_THROWS_WITH(load_map({{}, dir.path().string(), {}}), Catch::Contains("not a regular file"));
}

TEST_CASE("aliases map file: a looker is due once an interval, only when there is a file", "[aliases]") {
    mailwright::test::temp_dir dir("mailwright-aliases");
    write(dir.path() / "virtual", "a@x.org  alice\n");
    map_source source({{}, (dir.path() / "virtual").string(), {}}, std::chrono::seconds(1));
    const auto now = std::chrono::steady_clock::now();
    CHECK(!source.due(now));
    CHECK(source.due(now + std::chrono::seconds(2)));
    CHECK(!source.due(now + std::chrono::seconds(2)));  // someone else is looking
    map_source inline_only({{}, {}, {"a@x.org  alice"}}, std::chrono::seconds(0));
    CHECK(!inline_only.due(now + std::chrono::hours(1)));
}
