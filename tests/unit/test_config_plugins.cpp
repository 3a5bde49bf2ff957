// A plugin's [plugin.<name>] table, read through plugin::settings as a plugin reads it: every mistake once,
// with file:line:column, whether the plugin asks for the key after the file has loaded or not.
#include "mailwright/config/config.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "plugin_file.hpp"

using namespace mailwright;

namespace {

using test::plugin_file;

using lines = std::vector<std::string>;

}  // namespace

TEST_CASE("plugin settings: a value of the wrong type is one error, where it stands", "[config][plugin]") {
    // What a hook that refuses senders from listed domains does: the list, or an error if there is none.
    plugin_file f("[plugin.senders]\n\ndomains = 5\n");
    if (!f.settings->strings("domains")) {
        f.settings->invalid("domains", "the domains to refuse, e.g. domains = [\"example.com\"]");
    }
    CHECK(f.finish() == lines{"plugins.toml:3:11: 'domains' in [plugin.senders] must be a string or an array of "
                              "strings, not 5"});
}

TEST_CASE("plugin settings: each getter's wrong value has its position", "[config][plugin]") {
    plugin_file f(
        "[plugin.p]\nname = 1\ncount = \"many\"\nflag = \"yes\"\nwait = \"soon\"\nlist = [\"a\", 2]\n"
        "port = 70000\n");
    CHECK_FALSE(f.settings->string("name"));
    CHECK_FALSE(f.settings->integer("count", 0, 10));
    CHECK_FALSE(f.settings->boolean("flag"));
    CHECK_FALSE(f.settings->duration("wait"));
    CHECK_FALSE(f.settings->strings("list"));
    CHECK_FALSE(f.settings->integer("port", 1, 65535));
    const auto errors = f.finish();
    REQUIRE(errors.size() == 6);
    CHECK_THAT(errors[0], Catch::StartsWith("plugins.toml:2:8: 'name' in [plugin.p] must be a string"));
    CHECK_THAT(errors[1], Catch::StartsWith("plugins.toml:3:9: 'count' in [plugin.p] must be an integer"));
    CHECK_THAT(errors[2], Catch::StartsWith("plugins.toml:4:8: 'flag' in [plugin.p] must be true or false"));
    CHECK_THAT(errors[3], Catch::StartsWith("plugins.toml:5:8: 'wait' in [plugin.p] must be a duration"));
    CHECK_THAT(errors[4], Catch::StartsWith("plugins.toml:6:14: 'list' in [plugin.p] must list strings, not 2"));
    CHECK_THAT(errors[5], Catch::StartsWith("plugins.toml:7:8: 'port' in [plugin.p] must be an integer from 1"));
}

TEST_CASE("plugin settings: a missing key reported with invalid() is one error at the table", "[config][plugin]") {
    plugin_file f("# the plugin's table\n[plugin.senders]\nverbose = true\n");
    CHECK(f.settings->boolean("verbose") == true);
    if (!f.settings->strings("domains")) {
        f.settings->invalid("domains", "the domains to refuse, e.g. domains = [\"example.com\"]");
    }
    CHECK(f.finish() == lines{"plugins.toml:2:1: 'domains' in [plugin.senders]: the domains to refuse, e.g. "
                              "domains = [\"example.com\"]"});
}

TEST_CASE("plugin settings: a missing key after a refused value in the same table adds nothing", "[config][plugin]") {
    // aliases wants `map` or `entries`; `entries = 5` is the one mistake, and the missing map follows from it.
    plugin_file f("[plugin.aliases]\nentries = 5\n");
    const auto map = f.settings->string("map");
    const auto entries = f.settings->strings("entries");
    REQUIRE_FALSE(map);
    REQUIRE_FALSE(entries);
    f.settings->invalid("map", "the alias map to read (or entries)");
    CHECK(f.finish() == lines{"plugins.toml:2:11: 'entries' in [plugin.aliases] must be a string or an array of "
                              "strings, not 5"});
}

TEST_CASE("plugin settings: a missing key is still reported when nothing else was refused", "[config][plugin]") {
    plugin_file f("[plugin.aliases]\ndelimiters = \"+\"\n");
    CHECK(f.settings->string("delimiters") == "+");
    CHECK_FALSE(f.settings->string("map"));
    f.settings->invalid("map", "the alias map to read (or entries)");
    CHECK(f.finish() == lines{"plugins.toml:1:1: 'map' in [plugin.aliases]: the alias map to read (or entries)"});
}

TEST_CASE("plugin settings: invalid() for a present key that is right still reports", "[config][plugin]") {
    // A value of the right type that the plugin cannot use: the getter said nothing, so invalid() speaks.
    plugin_file f("[plugin.maildir]\npath = \"var/mail\"\n");
    REQUIRE(f.settings->string("path") == "var/mail");
    f.settings->invalid("path", "must contain %u, which stands for the user name");
    CHECK(f.finish() == lines{"plugins.toml:2:1: 'path' in [plugin.maildir]: must contain %u, which stands for the "
                              "user name"});
}

TEST_CASE("plugin settings: unknown keys have their position", "[config][plugin]") {
    plugin_file f("[plugin.p]\nfile = \"x\"\nfiel = \"y\"\n");
    CHECK(f.settings->string("file") == "x");
    CHECK(f.finish() == lines{"plugins.toml:3:1: unknown key 'fiel' in [plugin.p]; did you mean 'file'?"});
}

TEST_CASE("plugin settings: a plugin that did not run to its end reports no unknown keys", "[config][plugin]") {
    plugin_file f("[plugin.p]\nfile = 5\nother = 1\n");
    CHECK_FALSE(f.settings->string("file"));
    f.settings->finish(false);  // its init() threw, or never ran: 'other' may well be a key it knows
    REQUIRE(f.errors.size() == 1);
    CHECK_THAT(f.errors[0].to_string(), Catch::StartsWith("plugins.toml:2:8: 'file' in [plugin.p] must be a string"));
}

TEST_CASE("plugin settings: tables inside a plugin's table, named, each with its own unknown keys",
          "[config][plugin]") {
    plugin_file f(
        "[plugin.p.hops.first]\naddress = \"a\"\n\n[plugin.p.hops.second]\naddress = \"b\"\nadress = \"typo\"\n\n"
        "[[plugin.p.routes]]\nmatch = \"*\"\n\n[[plugin.p.routes]]\nmatch = 5\n");
    const auto hops = f.settings->tables("hops");
    REQUIRE(hops.size() == 2);
    CHECK(hops[0].name == "first");
    CHECK(hops[0].table->string("address") == "a");
    CHECK(hops[1].name == "second");
    CHECK(hops[1].table->string("address") == "b");
    const auto routes = f.settings->tables("routes");
    REQUIRE(routes.size() == 2);
    CHECK(routes[0].name == "1");
    CHECK(routes[0].table->string("match") == "*");
    CHECK_FALSE(routes[1].table->string("match"));
    routes[1].table->invalid("match", "never shown twice");
    CHECK(f.settings->tables("absent").empty());
    CHECK(f.finish() ==
          lines{"plugins.toml:12:9: 'match' in [[plugin.p.routes]] #2 must be a string, not 5",
                "plugins.toml:6:1: unknown key 'adress' in [plugin.p.hops.second]; did you mean 'address'?"});
}

TEST_CASE("plugin settings: a key that holds no tables is one error", "[config][plugin]") {
    plugin_file f("[plugin.p]\nhops = \"x\"\n");
    CHECK(f.settings->tables("hops").empty());
    f.settings->invalid("hops", "not again");
    const auto errors = f.finish();
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].find("'hops' in [plugin.p]: expected tables") != std::string::npos);
}
