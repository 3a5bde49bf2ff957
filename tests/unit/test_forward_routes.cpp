// The forward plugin's [plugin.forward] (plugins/forward/routes.hpp): next hops and routes read with every
// mistake named where it stands, and the route an address takes: the address, then its domain, then "*".
#include <catch2/catch.hpp>
#include <string>

#include "plugin_file.hpp"
#include "routes.hpp"

using namespace mailwright;
using test::plugin_file;

namespace {

const std::string good =
    "[plugin.forward.hops.dovecot]\naddress = \"127.0.0.1:24\"\nprotocol = \"lmtp\"\n\n"
    "[plugin.forward.hops.relay]\naddress = \"[::1]:587\"\ntls = \"starttls\"\nuser = \"u\"\npassword = \"p\"\n"
    "max_connections = 3\ncommand_timeout = \"20s\"\n\n"
    "[[plugin.forward.routes]]\nmatch = \"Example.org\"\nhop = \"dovecot\"\n\n"
    "[[plugin.forward.routes]]\nmatch = \"boss@example.org\"\nhop = \"relay\"\n\n"
    "[[plugin.forward.routes]]\nmatch = \"*\"\nhop = \"relay\"\n";

}  // namespace

TEST_CASE("forward routes: hops and routes as written", "[forward]") {
    plugin_file f(good);
    const auto t = forward::read_table(*f.settings, "mx.example.org");
    CHECK(f.finish().empty());
    REQUIRE(t.hops.size() == 2);
    CHECK(t.hops[0].name == "dovecot");
    CHECK(t.hops[0].address.port == 24);
    CHECK(t.hops[0].client.kind == smtp::client::protocol::lmtp);
    CHECK(t.hops[0].client.helo_name == "mx.example.org");
    CHECK(t.hops[1].address.host == "::1");
    CHECK(t.hops[1].client.tls.use == smtp::client::tls_options::mode::starttls);
    CHECK(t.hops[1].max_connections == 3);
    CHECK(t.hops[1].client.command_timeout == std::chrono::seconds(20));
    CHECK(t.route_of("alice@EXAMPLE.org") == 0u);
    CHECK(t.route_of("Boss@example.org") == 1u);
    CHECK(t.route_of("someone@elsewhere.net") == 1u);
}

TEST_CASE("forward routes: without a catch-all, an address no route names has none", "[forward]") {
    plugin_file f(
        "[plugin.forward.hops.d]\naddress = \"unix:/run/dovecot/lmtp\"\nprotocol = \"lmtp\"\n"
        "[[plugin.forward.routes]]\nmatch = \"example.org\"\nhop = \"d\"\n");
    const auto t = forward::read_table(*f.settings, "h");
    CHECK(f.finish().empty());
    CHECK(t.hops[0].address.unix_path == "/run/dovecot/lmtp");
    CHECK_FALSE(t.route_of("a@example.net"));
    CHECK_FALSE(t.route_of("a@sub.example.org"));
}

TEST_CASE("forward routes: each mistake is named where it stands", "[forward]") {
    plugin_file f(
        "[plugin.forward.hops.bad]\naddress = \"host\"\nprotocol = \"x400\"\ntls = \"maybe\"\n"
        "[plugin.forward.hops.clear]\naddress = \"relay:25\"\nuser = \"u\"\npassword = \"p\"\n"
        "[[plugin.forward.routes]]\nmatch = \"*\"\nhop = \"nowhere\"\n");
    forward::read_table(*f.settings, "h");
    const auto errors = f.finish();
    const auto has = [&](const std::string& text) {
        return std::any_of(errors.begin(), errors.end(),
                           [&](const std::string& e) { return e.find(text) != std::string::npos; });
    };
    CHECK(has("'address' in [plugin.forward.hops.bad]: the port is missing"));
    CHECK(has("'protocol' in [plugin.forward.hops.bad]"));
    CHECK(has("'tls' in [plugin.forward.hops.bad]"));
    CHECK(has("'user' in [plugin.forward.hops.clear]: tls = \"starttls\" or \"implicit\""));
    CHECK(has("'hop' in [[plugin.forward.routes]] #1"));
    CHECK(has("'routes' in [plugin.forward]: at least one"));
}
