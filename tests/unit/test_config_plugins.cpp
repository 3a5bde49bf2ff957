// A plugin's [plugin.<name>] table, read through plugin::settings as a plugin reads it: every mistake once,
// with file:line:column, whether the plugin asks for the key after the file has loaded or not.
#include "mailwright/config/config.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace mailwright;

namespace {

const std::string_view services[] = {"echo"};

// The file's [plugin.<name>] tables, each opened as the daemon opens it for init().
struct plugin_file {
    config::daemon_config cfg;
    std::vector<config::error> errors;
    std::unique_ptr<config::plugin_settings> settings;

    explicit plugin_file(const std::string& tables) {
        auto loaded = config::load_string(tables + "\n[[listener]]\nname = \"x\"\nservice = \"echo\"\n", "plugins.toml",
                                          config::schema{services});
        REQUIRE(loaded.config);
        cfg = std::move(*loaded.config);
        REQUIRE(cfg.plugins.sections.size() == 1);
        settings = config::open_plugin_settings(cfg, cfg.plugins.sections.front(), errors);
    }

    std::vector<std::string> finish() {
        settings->finish(true);
        std::vector<std::string> lines;
        for (const auto& e : errors) {
            lines.push_back(e.to_string());
        }
        return lines;
    }
};

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
