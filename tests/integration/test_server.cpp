// The server core in process, over loopback: a service that throws harms only its own client, a session
// that ignores the shutdown request is closed when the grace period ends, and the administrator's requests
// (sessions, kick) reach the sessions on their workers.
#include "mailwright/server/server.hpp"

#include <algorithm>
#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read_until.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <atomic>
#include <catch2/catch.hpp>
#include <future>
#include <thread>

#include "echo.hpp"  // plugins/echo, linked in
#include "mailwright/server/service.hpp"
#include "mailwright/server/session.hpp"

using namespace mailwright;
using asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

// Throws on "BOOM", otherwise behaves like echo.
class fragile final : public server::service {
  public:
    std::string_view name() const override { return "fragile"; }
    std::string refusal_line(server::refusal) const override { return {}; }
    asio::awaitable<void> serve(server::session& s) override {
        s.reply("220 ready\r\n");
        for (;;) {
            auto r = co_await s.read_line();
            if (r.status != server::read_status::line) {
                co_return;
            }
            if (r.line == "BOOM") {
                throw std::runtime_error("plugin exploded");
            }
            s.reply("250 " + std::string(r.line) + "\r\n");
        }
    }
};

// Ignores the shutdown request: sleeps for a minute after its greeting.
class stubborn final : public server::service {
  public:
    std::string_view name() const override { return "stubborn"; }
    std::string refusal_line(server::refusal) const override { return {}; }
    asio::awaitable<void> serve(server::session& s) override {
        s.reply("220 not listening to you\r\n");
        co_await s.flush();
        asio::steady_timer timer(co_await asio::this_coro::executor, 60s);
        co_await timer.async_wait(asio::use_awaitable);
    }
};

// Holds its worker thread itself (not a coroutine wait) until released: a worker stuck in a plugin's call.
class blocking final : public server::service {
  public:
    std::string_view name() const override { return "blocking"; }
    std::string refusal_line(server::refusal) const override { return {}; }
    asio::awaitable<void> serve(server::session& s) override {
        entered = true;
        released.wait();
        s.reply("220 released\r\n");
        co_return;
    }
    std::atomic<bool> entered{false};
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
};

// Waits (bounded) until `done` holds.
template <class Predicate>
bool eventually(Predicate done) {
    for (int i = 0; i < 1000 && !done(); ++i) {
        std::this_thread::sleep_for(10ms);
    }
    return done();
}

struct client {
    asio::io_context context;
    tcp::socket socket{context};
    std::string pending;

    explicit client(std::uint16_t port) { socket.connect({asio::ip::make_address("127.0.0.1"), port}); }

    std::string line() {
        std::error_code ec;
        const auto n = asio::read_until(socket, asio::dynamic_buffer(pending), "\r\n", ec);
        if (ec) {
            return "<" + ec.message() + ">";
        }
        std::string text = pending.substr(0, n - 1);  // keeps the CR, drops the LF
        pending.erase(0, n);
        return text;
    }
    void send(std::string_view text) { asio::write(socket, asio::buffer(text)); }
};

struct running_server {
    server::server srv;
    std::thread thread;

    running_server(server::server_options options, std::shared_ptr<server::service> handler) : srv(options) {
        srv.add_listener({.name = "test", .addresses = {"127.0.0.1"}, .port = 0, .handler = std::move(handler)});
        srv.bind();
        thread = std::thread([this] { srv.run(); });
    }
    ~running_server() {
        if (thread.joinable()) {
            srv.stop();
            thread.join();
        }
    }
    std::uint16_t port() const { return srv.bound_endpoints().at(0).endpoint.port; }
};

}  // namespace

TEST_CASE("server: an exception in one session closes only that session", "[server][faults]") {
    running_server rs({.workers = 2, .handle_signals = false}, std::make_shared<fragile>());
    client bystander(rs.port());
    client victim(rs.port());
    CHECK(bystander.line() == "220 ready\r");
    CHECK(victim.line() == "220 ready\r");

    victim.send("BOOM\r\n");
    CHECK(victim.line() == "<End of file>");

    bystander.send("still there?\r\n");
    CHECK(bystander.line() == "250 still there?\r");
    client newcomer(rs.port());
    CHECK(newcomer.line() == "220 ready\r");
}

TEST_CASE("server: sessions that ignore shutdown are closed after the grace period", "[server][shutdown]") {
    running_server rs({.workers = 1, .shutdown_grace = 300ms, .handle_signals = false}, std::make_shared<stubborn>());
    client c(rs.port());
    CHECK(c.line() == "220 not listening to you\r");
    rs.srv.stop();
    rs.thread.join();  // returns only because the grace period forces the stop; CTest's timeout bounds it
    CHECK(c.line() == "<End of file>");
}

TEST_CASE("server: graceful shutdown lets sessions say goodbye and refuses new ones", "[server][shutdown]") {
    running_server rs({.workers = 2, .handle_signals = false}, std::make_shared<echo::service>());
    client a(rs.port());
    client b(rs.port());
    REQUIRE(a.line() == "220 mailwright echo ready\r");
    REQUIRE(b.line() == "220 mailwright echo ready\r");
    rs.srv.stop();
    CHECK(a.line() == "421 server shutting down\r");
    CHECK(b.line() == "421 server shutting down\r");
    rs.thread.join();
    asio::io_context context;
    tcp::socket late(context);
    std::error_code ec;
    late.connect({asio::ip::make_address("127.0.0.1"), rs.port()}, ec);
    CHECK(ec == asio::error::connection_refused);
}

TEST_CASE("server: sessions() lists the open sessions and kick() ends only the one named", "[server][admin]") {
    running_server rs({.workers = 2, .handle_signals = false}, std::make_shared<echo::service>());
    client a(rs.port());
    client b(rs.port());
    REQUIRE(a.line() == "220 mailwright echo ready\r");
    REQUIRE(b.line() == "220 mailwright echo ready\r");
    const auto listed = rs.srv.sessions();
    REQUIRE(listed.size() == 2);
    const auto a_port = a.socket.local_endpoint().port();
    const auto mine = std::find_if(listed.begin(), listed.end(), [&](const auto& s) { return s.peer.port == a_port; });
    REQUIRE(mine != listed.end());
    CHECK(mine->listener == "test");
    CHECK(mine->peer.address == "127.0.0.1");
    CHECK(mine->user.empty());

    CHECK(rs.srv.kick(mine->id + 1000) == 0);
    CHECK(rs.srv.kick_user("") == 0);  // the sessions nobody logged into are nobody's
    CHECK(rs.srv.kick(mine->id) == 1);
    CHECK(a.line() == "421 server shutting down\r");  // the goodbye of a stopping session
    CHECK(a.line() == "<End of file>");
    b.send("still there?\r\n");
    CHECK(b.line() == "250 still there?\r");
}

TEST_CASE("server: the administrator's requests return when the server has stopped", "[server][admin]") {
    running_server rs({.workers = 2, .handle_signals = false}, std::make_shared<echo::service>());
    rs.srv.stop();
    rs.thread.join();
    // The workers are gone: nothing is posted, nothing waited for (CTest's timeout bounds a hang).
    CHECK(rs.srv.sessions().empty());
    CHECK(rs.srv.kick(1) == 0);
    CHECK(rs.srv.kick_user("alice") == 0);
}

TEST_CASE("server: a listener that cannot bind is an error naming the address", "[server]") {
    // A plain listening socket (no SO_REUSEPORT) makes the port unavailable to us.
    asio::io_context context;
    tcp::acceptor squatter(context, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const auto port = squatter.local_endpoint().port();
    server::server second({.workers = 1, .handle_signals = false});
    second.add_listener(
        {.name = "clash", .addresses = {"127.0.0.1"}, .port = port, .handler = std::make_shared<echo::service>()});
    CHECK_THROWS_WITH(second.bind(),
                      Catch::Contains("listener 'clash' cannot listen on 127.0.0.1:" + std::to_string(port)));
}

TEST_CASE("server: a listener address that is not an IP address is refused", "[server]") {
    server::server s({.workers = 1, .handle_signals = false});
    CHECK_THROWS_WITH(
        s.add_listener({.name = "bad", .addresses = {"mail.example"}, .handler = std::make_shared<echo::service>()}),
        Catch::Contains("'mail.example' is not an IP address"));
}

TEST_CASE("server: reconfigure hands a kept address to the new service and keeps sessions on the old one",
          "[server][reload]") {
    running_server rs({.workers = 2, .handle_signals = false}, std::make_shared<echo::service>());
    const auto port = rs.port();
    client old_session(port);
    REQUIRE(old_session.line() == "220 mailwright echo ready\r");

    rs.srv.reconfigure(
        {{.name = "test", .addresses = {"127.0.0.1"}, .port = port, .handler = std::make_shared<fragile>()}});
    CHECK(rs.port() == port);
    client new_session(port);
    CHECK(new_session.line() == "220 ready\r");  // fragile's greeting: the new service
    old_session.send("BOOM\r\n");                // fragile would throw and close; echo repeats it
    CHECK(old_session.line() == "250 BOOM\r");   // still echo: the session keeps the service it was accepted by
}

TEST_CASE("server: a reconfigure that cannot bind changes nothing", "[server][reload]") {
    running_server rs({.workers = 1, .handle_signals = false}, std::make_shared<echo::service>());
    const auto port = rs.port();
    asio::io_context context;
    tcp::acceptor taken(context, {asio::ip::make_address("127.0.0.1"), 0});
    const auto taken_port = taken.local_endpoint().port();

    CHECK_THROWS_AS(
        rs.srv.reconfigure(
            {{.name = "test", .addresses = {"127.0.0.1"}, .port = port, .handler = std::make_shared<fragile>()},
             {.name = "clash",
              .addresses = {"127.0.0.1"},
              .port = taken_port,
              .handler = std::make_shared<fragile>()}}),
        std::system_error);
    REQUIRE(rs.srv.bound_endpoints().size() == 1);
    client c(port);
    CHECK(c.line() == "220 mailwright echo ready\r");  // the old service, on the old socket

    rs.srv.reconfigure({});  // and a listener no longer named is closed
    CHECK(rs.srv.bound_endpoints().empty());
    std::error_code ec;
    for (int i = 0; i < 50; ++i) {  // the workers close their descriptors as they get to it
        tcp::socket probe(context);
        probe.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
        if (ec) {
            break;
        }
        std::this_thread::sleep_for(20ms);
    }
    CHECK(ec == asio::error::connection_refused);
}

TEST_CASE("server: ready once, the watchdog fed while every worker answers and not while one is stuck, stopping once",
          "[server][watchdog]") {
    std::atomic<int> ready{0};
    std::atomic<int> fed{0};
    std::atomic<int> stopping{0};
    auto service = std::make_shared<blocking>();
    running_server rs({.workers = 2,
                       .handle_signals = false,
                       .on_ready = [&] { ++ready; },
                       .on_stopping = [&] { ++stopping; },
                       .watchdog_interval = 20ms,
                       .on_watchdog = [&] { ++fed; }},
                      service);
    REQUIRE(eventually([&] { return fed >= 3; }));
    CHECK(ready == 1);

    client stuck(rs.port());
    REQUIRE(eventually([&] { return service->entered.load(); }));
    const int before = fed;
    std::this_thread::sleep_for(300ms);  // fifteen rounds' time: none may complete
    CHECK(fed <= before + 1);            // a round that the stuck worker had answered before it stuck
    const int while_stuck = fed;

    service->release.set_value();
    CHECK(stuck.line() == "220 released\r");
    CHECK(eventually([&] { return fed >= while_stuck + 2; }));
    rs.srv.stop();
    rs.thread.join();
    CHECK(stopping == 1);
    CHECK(ready == 1);
}
