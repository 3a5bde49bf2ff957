// The SMTP client's open(): AUTH PLAIN, LOGIN and SCRAM-SHA-256 checked by the framework's own server-side
// mechanisms, wrong passwords, AUTH refused without TLS, STARTTLS required but not offered, a refused
// greeting, deadlines, a port nobody listens on, and hostile replies (too long, too many lines, garbage).
#include <map>

#include "client_fixture.hpp"
#include "mailwright/sasl/mechanism.hpp"

using namespace mailwright;
using test::script_peer;
namespace client = smtp::client;

namespace {

class users final : public plugin::auth_backend, plugin::secret_provider {
  public:
    std::map<std::string, std::string> passwords{{"alice", "s3cret, really"}};

    void init(plugin::settings&, plugin::host_view&) override {}
    asio::awaitable<plugin::auth_result> verify_password(std::string_view user, std::string_view password) override {
        const auto it = passwords.find(std::string(user));
        const bool ok = it != passwords.end() && it->second == password;
        co_return plugin::auth_result{
            ok ? plugin::auth_status::ok : plugin::auth_status::rejected, ok ? it->first : "", {}};
    }
    plugin::secret_provider* secrets() noexcept override { return this; }
    asio::awaitable<plugin::secret_result> stored_secret(std::string_view user, plugin::secret_kind kind) override {
        const auto it = passwords.find(std::string(user));
        if (it == passwords.end() || kind != plugin::secret_kind::scram_sha_256) {
            co_return plugin::secret_result{};
        }
        co_return plugin::secret_result{plugin::auth_status::ok, it->first,
                                        sasl::scram_secret(sasl::digest::sha256, it->second, "saltsaltsalt", 4096)};
    }
};

// Offers `mechanisms`, then runs the exchange the client starts through sasl::make_mechanism: the server's
// verdict decides, so the client's PLAIN, LOGIN and SCRAM messages are checked by code it shares nothing with.
asio::awaitable<void> auth_server(script_peer& p, std::string mechanisms, std::string* used) {
    users backend;
    sasl::context ctx{backend, nullptr, "mx.test", {}};
    co_await p.say("220 mx.test ESMTP\r\n");
    co_await p.line();
    const std::string offer = "250-mx.test\r\n250-ENHANCEDSTATUSCODES\r\n250 AUTH " + mechanisms + "\r\n";
    co_await p.say(offer);
    const auto command = co_await p.line();
    REQUIRE(command.starts_with("AUTH "));
    const auto space = command.find(' ', 5);
    *used = command.substr(5, space == std::string::npos ? space : space - 5);
    auto mechanism = sasl::make_mechanism(*used, ctx);
    REQUIRE(mechanism);
    std::optional<std::string> initial;
    if (space != std::string::npos) {
        initial = sasl::base64_decode(command.substr(space + 1));
        REQUIRE(initial);
    }
    std::optional<std::string_view> initial_view;
    if (initial) {
        initial_view = *initial;
    }
    auto step = co_await mechanism->start(initial_view);
    while (step.outcome == sasl::step::kind::challenge) {
        const std::string challenge = "334 " + sasl::base64_encode(step.data) + "\r\n";
        co_await p.say(challenge);
        const auto response = co_await p.line();
        const auto decoded = sasl::base64_decode(response);
        REQUIRE(decoded);
        step = co_await mechanism->next(*decoded);
    }
    co_await p.say(step.outcome == sasl::step::kind::success ? "235 2.7.0 authenticated\r\n"
                                                             : "535 5.7.8 authentication failed\r\n");
    const auto quit = co_await p.line();
    if (quit == "QUIT") {
        co_await p.say("221 2.0.0 bye\r\n");
    }
}

// Opens with `o` against `server`; the failure's text ("" when it opened).
template <class Server>
std::string open_against(Server server, client::options o) {
    std::string failure;
    auto run_client = [&](net::endpoint where) -> asio::awaitable<void> {
        auto opened = co_await client::session::open(where, o);
        if (opened.session) {
            co_await opened.session->quit();
        } else {
            failure = opened.failure.to_string();
        }
    };
    test::play(server, run_client);
    return failure;
}

client::options with_user(std::string password = "s3cret, really") {
    auto o = test::quick();
    o.user = "alice";
    o.password = std::move(password);
    o.plaintext_auth = true;  // loopback; TLS is the integration test's
    return o;
}

}  // namespace

TEST_CASE("client AUTH: the strongest offered mechanism, checked by the server's own", "[smtp][client][sasl]") {
    for (const auto& [offered, expected] : std::vector<std::pair<std::string, std::string>>{
             {"LOGIN PLAIN SCRAM-SHA-256", "SCRAM-SHA-256"}, {"LOGIN PLAIN", "PLAIN"}, {"LOGIN", "LOGIN"}}) {
        SECTION(offered) {
            std::string used;
            auto server = [&](script_peer& p) { return auth_server(p, offered, &used); };
            CHECK(open_against(server, with_user()).empty());
            CHECK(used == expected);
            used.clear();
            CHECK(open_against(server, with_user("wrong")) == "535 5.7.8 authentication failed");
            CHECK(used == expected);
        }
    }
}

TEST_CASE("client AUTH: never in the clear unless allowed, and only with a known mechanism", "[smtp][client][sasl]") {
    std::string used;
    auto server = [&](script_peer& p) -> asio::awaitable<void> {
        co_await p.say("220 mx.test ESMTP\r\n");
        co_await p.line();
        co_await p.say("250-mx.test\r\n250 AUTH PLAIN CRAM-MD5\r\n");
        used = co_await p.line();
    };
    auto o = with_user();
    o.plaintext_auth = false;
    CHECK_THAT(open_against(server, o), Catch::StartsWith("451 4.7.0 not authenticating to 127.0.0.1:"));
    CHECK(used == "QUIT");
    auto only_cram = [&](script_peer& p) -> asio::awaitable<void> {
        co_await p.say("220 mx.test ESMTP\r\n");
        co_await p.line();
        co_await p.say("250-mx.test\r\n250 AUTH CRAM-MD5\r\n");
        used = co_await p.line();
    };
    CHECK_THAT(open_against(only_cram, with_user()), Catch::Contains("offers no SASL mechanism"));
    CHECK(used == "QUIT");
}

TEST_CASE("client: STARTTLS required but not offered: our own 4.7.0", "[smtp][client][tls]") {
    std::string said;
    auto server = [&](script_peer& p) -> asio::awaitable<void> {
        co_await p.say("220 mx.test ESMTP\r\n");
        co_await p.line();
        co_await p.say("250-mx.test\r\n250 PIPELINING\r\n");
        said = co_await p.line();
    };
    auto o = test::quick();
    o.tls.use = client::tls_options::mode::starttls;
    CHECK_THAT(open_against(server, o), Catch::Matches("451 4\\.7\\.0 .* does not offer STARTTLS.*"));
    CHECK(said == "QUIT");
}

TEST_CASE("client: a refused greeting is the failure, and the client says QUIT", "[smtp][client]") {
    std::string said;
    auto server = [&](script_peer& p) -> asio::awaitable<void> {
        co_await p.say("554 5.7.1 go away\r\n");
        said = co_await p.line();
    };
    CHECK(open_against(server, test::quick()) == "554 5.7.1 go away");
    CHECK(said == "QUIT");
}

TEST_CASE("client: a server that stops answering: our own 451 4.4.2 at the deadline", "[smtp][client]") {
    auto server = [](script_peer& p) -> asio::awaitable<void> {
        co_await p.say("220 mx.test ESMTP\r\n");
        co_await p.line();
        co_await p.line();  // waits until the client gives up and closes
    };
    auto o = test::quick();
    o.command_timeout = std::chrono::milliseconds(300);
    const auto started = std::chrono::steady_clock::now();
    CHECK_THAT(open_against(server, o), Catch::StartsWith("451 4.4.2 timed out"));
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(3));
}

TEST_CASE("client: nobody listening: our own 451 4.4.1", "[smtp][client]") {
    asio::io_context io;
    net::endpoint where;
    where.host = "127.0.0.1";
    {
        asio::ip::tcp::acceptor closed(io, {asio::ip::make_address("127.0.0.1"), 0});
        where.port = closed.local_endpoint().port();
    }
    client::reply failure;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            auto opened = co_await client::session::open(where, test::quick());
            failure = opened.failure;
        },
        [](std::exception_ptr e) {
            if (e) {
                std::rethrow_exception(e);
            }
        });
    io.run();
    CHECK(failure.code == 451);
    CHECK(failure.enhanced == "4.4.1");
    CHECK_THAT(failure.lines.front(), Catch::StartsWith("cannot connect to 127.0.0.1:"));
}

TEST_CASE("client: hostile replies end the connection with our own 451 4.5.0", "[smtp][client]") {
    const std::string long_line = "220 " + std::string(5000, 'x') + "\r\n";
    std::string endless = "220-mx.test\r\n";
    for (int i = 0; i < 1000; ++i) {
        endless += "220-more\r\n";
    }
    for (const auto& [name, greeting] : std::vector<std::pair<std::string, std::string>>{
             {"a line too long", long_line}, {"too many lines", endless}, {"not a reply", "hello there\r\n"}}) {
        SECTION(name) {
            auto server = [&](script_peer& p) -> asio::awaitable<void> {
                co_await p.say(greeting);
                co_await p.line();  // the client closes without a word
            };
            CHECK_THAT(open_against(server, test::quick()), Catch::StartsWith("451 4.5.0"));
        }
    }
}
