// lib/pgclient's pieces without I/O: the settings a plugin reads from its table (settings.hpp), the reconnection
// back-off, and results as values (result.hpp).
#include "mailwright/pgclient/settings.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "mailwright/pgclient/result.hpp"
#include "plugin_file.hpp"

using namespace mailwright;
using test::has_error;
using test::plugin_file;

TEST_CASE("pgclient settings: defaults, and every key as written", "[pgclient]") {
    SECTION("only conninfo") {
        plugin_file f("[plugin.db]\nconninfo = \"host=127.0.0.1 dbname=mail\"\n");
        const auto s = pgclient::read_settings(*f.settings);
        CHECK(f.finish().empty());
        REQUIRE(s);
        CHECK(s->conninfo == "host=127.0.0.1 dbname=mail");
        CHECK(s->pool_size == 4);
        CHECK(s->connect_timeout == std::chrono::seconds(5));
        CHECK(s->query_timeout == std::chrono::seconds(10));
        CHECK(s->reconnect_min == std::chrono::milliseconds(500));
        CHECK(s->reconnect_max == std::chrono::seconds(30));
    }
    SECTION("all keys") {
        plugin_file f(
            "[plugin.db]\nconninfo = \"postgresql://u@localhost/mail\"\npool_size = 2\nconnect_timeout = \"1s\"\n"
            "query_timeout = \"3s\"\nreconnect_min = \"100ms\"\nreconnect_max = \"2s\"\n");
        const auto s = pgclient::read_settings(*f.settings);
        CHECK(f.finish().empty());
        REQUIRE(s);
        CHECK(s->pool_size == 2);
        CHECK(s->connect_timeout == std::chrono::seconds(1));
        CHECK(s->query_timeout == std::chrono::seconds(3));
        CHECK(s->reconnect_min == std::chrono::milliseconds(100));
        CHECK(s->reconnect_max == std::chrono::seconds(2));
    }
}

TEST_CASE("pgclient settings: each mistake is named where it stands", "[pgclient]") {
    SECTION("conninfo missing") {
        plugin_file f("[plugin.db]\npool_size = 2\n");
        CHECK_FALSE(pgclient::read_settings(*f.settings));
        CHECK(has_error(f.finish(), "'conninfo' in [plugin.db]"));
    }
    SECTION("conninfo libpq cannot read") {
        plugin_file f("[plugin.db]\nconninfo = \"host=x nonsense=1\"\n");
        CHECK_FALSE(pgclient::read_settings(*f.settings));
        const auto errors = f.finish();
        CHECK(has_error(errors, "plugins.toml:2:"));
        CHECK(has_error(errors, "nonsense"));
    }
    SECTION("a pool too large, a back-off upside down") {
        plugin_file f(
            "[plugin.db]\nconninfo = \"host=x\"\npool_size = 1000\nreconnect_min = \"10s\"\nreconnect_max = "
            "\"1s\"\n");
        CHECK_FALSE(pgclient::read_settings(*f.settings));
        const auto errors = f.finish();
        CHECK(has_error(errors, "'pool_size'"));
        CHECK(has_error(errors, "'reconnect_max'"));
    }
    SECTION("an unknown key") {
        plugin_file f("[plugin.db]\nconninfo = \"host=x\"\npoolsize = 3\n");
        CHECK(pgclient::read_settings(*f.settings));
        CHECK(has_error(f.finish(), "poolsize"));
    }
}

TEST_CASE("pgclient backoff: doubles from min to max, and starts over after a success", "[pgclient]") {
    using std::chrono::milliseconds;
    pgclient::backoff b(milliseconds(100), milliseconds(1000));
    const auto t0 = pgclient::clock::time_point{} + std::chrono::hours(1);
    CHECK(b.may_try(t0));
    b.failed(t0);
    CHECK(b.delay() == milliseconds(100));
    CHECK_FALSE(b.may_try(t0 + milliseconds(99)));
    CHECK(b.may_try(t0 + milliseconds(100)));
    for (const int expected : {200, 400, 800, 1000, 1000}) {
        b.failed(t0);
        CHECK(b.delay() == milliseconds(expected));
    }
    CHECK_FALSE(b.may_try(t0 + milliseconds(999)));
    b.succeeded();
    CHECK(b.may_try(t0));
    b.failed(t0);
    CHECK(b.delay() == milliseconds(100));
}

TEST_CASE("pgclient result: failures are values, temporary or not, and have no rows", "[pgclient]") {
    const pgclient::result none;
    CHECK_FALSE(none.ok());
    CHECK(none.status() == pgclient::status::tempfail);
    CHECK(none.rows() == 0);
    CHECK(none.is_null(0, 0));
    CHECK_FALSE(none.get(0, 0));

    const auto refused = pgclient::result::failure(pgclient::status::failed, "syntax error\nat \"x\"\n", "42601");
    CHECK(refused.status() == pgclient::status::failed);
    CHECK(refused.error() == "syntax error at \"x\"");
    CHECK(refused.sqlstate() == "42601");
    CHECK(refused.value(0, 0).empty());
    CHECK(refused.affected() == 0);

    const pgclient::result lost(nullptr, "server closed the connection unexpectedly\n");
    CHECK(lost.status() == pgclient::status::tempfail);
    CHECK(lost.error() == "server closed the connection unexpectedly");
}

TEST_CASE("pgclient param: text, bytes with any octet, and NULL", "[pgclient]") {
    const std::string octets("a\0b", 3);
    const auto b = pgclient::param::bytes(octets);
    CHECK(b.binary);
    CHECK(b.value.size() == 3);
    CHECK(pgclient::param::text("x").value == "x");
    CHECK(pgclient::param::null_value().null);
}
