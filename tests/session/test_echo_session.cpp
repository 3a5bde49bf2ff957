// Whole dialogues of the echo service (plugins/echo, linked in) over an in-memory stream: reply batching,
// byte-by-byte input, failures at every read and write, deadlines and shutdown; and the plugin as the host
// loads it.
#include <algorithm>
#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "echo.hpp"
#include "mailwright/plugin/fixed_settings.hpp"
#include "mailwright/plugin/host.hpp"
#include "mailwright/server/session.hpp"
#include "mailwright/testing/memory_stream.hpp"
#include "support.hpp"

using namespace mailwright;
using testing::memory_stream;

namespace {

struct dialogue {
    memory_stream* stream;  // owned by the session
    std::unique_ptr<server::session> session;
};

dialogue make(std::vector<std::string> chunks, io::line_limits limits = {}) {
    auto stream = std::make_unique<memory_stream>(std::move(chunks));
    auto* raw = stream.get();
    return {raw, std::make_unique<server::session>(std::move(stream), server::session_info{.id = 1},
                                                   server::session_options{.limits = limits})};
}

// Serves the whole dialogue as the server does: serve(), then a last flush.
void serve(dialogue& d, server::service& service) {
    test::run([&]() -> asio::awaitable<void> {
        co_await service.serve(*d.session);
        co_await d.session->flush();
    }());
}

void serve(dialogue& d) {
    echo::service echo;
    serve(d, echo);
}

const std::string greeting = "220 mailwright echo ready\r\n";

}  // namespace

TEST_CASE("echo: pipelined lines get all their replies in one write", "[session][pipelining]") {
    auto d = make({"one\r\ntwo\r\nthree\r\n", "QUIT\r\n"});
    serve(d);
    CHECK(d.stream->output() == greeting + "250 one\r\n250 two\r\n250 three\r\n221 bye\r\n");
    // greeting | the three replies of the first segment | the reply to QUIT
    CHECK(d.stream->writes() == 3);
}

TEST_CASE("echo: input delivered one byte per read gives the same dialogue", "[session]") {
    auto whole = make({"one\r\ntwo\r\nQUIT\r\n"});
    serve(whole);
    auto bytes = make({"one\r\ntwo\r\nQUIT\r\n"});
    bytes.stream->max_read(1);
    serve(bytes);
    CHECK(bytes.stream->output() == whole.stream->output());
}

TEST_CASE("echo: an over-long line is refused and the session goes on", "[session][limits]") {
    auto d = make({std::string(600, 'x') + "\r\nafter\r\n"}, {.max_line = 512});
    serve(d);
    CHECK(d.stream->output() == greeting + "500 line too long\r\n250 after\r\n");
}

TEST_CASE("echo: a bare LF is refused where the listener says so", "[session]") {
    auto d = make({"bare\nok\r\n"}, {.max_line = 512, .bare_lf = io::bare_lf_policy::reject});
    serve(d);
    CHECK(d.stream->output() == greeting + "500 line must end with CRLF\r\n250 ok\r\n");
}

TEST_CASE("echo: a deadline ends the session with a goodbye", "[session][deadline]") {
    auto d = make({"hello\r\n"});
    d.stream->end_with(memory_stream::ending::timeout);
    serve(d);
    CHECK(d.stream->output() == greeting + "250 hello\r\n421 idle timeout, closing\r\n");
}

TEST_CASE("echo: a shutdown request gets the protocol's goodbye", "[session][shutdown]") {
    auto d = make({"hello\r\n"});
    d.session->request_stop();
    serve(d);
    CHECK(d.stream->interrupted());
    CHECK(d.stream->output() == greeting + "421 server shutting down\r\n");
}

TEST_CASE("echo: a read failure at any point ends the session cleanly", "[session][faults]") {
    const std::vector<std::string> input{"a\r\n", "b\r\n", "c\r\n", "QUIT\r\n"};
    for (std::size_t fail_at = 0; fail_at <= input.size(); ++fail_at) {
        INFO("read " << fail_at << " fails");
        auto d = make(input);
        d.stream->fail_read_at(fail_at);
        REQUIRE_NOTHROW(serve(d));
        // Exactly the lines read before the failure were answered.
        std::string expected = greeting;
        for (std::size_t i = 0; i < fail_at && i < 3; ++i) {
            expected += "250 " + input[i].substr(0, 1) + "\r\n";
        }
        if (fail_at == input.size()) {
            expected += "221 bye\r\n";  // every read succeeded
        }
        CHECK(d.stream->output() == expected);
    }
}

TEST_CASE("echo: a write failure at any point ends the session without writing again", "[session][faults]") {
    for (std::size_t fail_at = 0; fail_at < 4; ++fail_at) {
        INFO("write " << fail_at << " fails");
        auto d = make({"a\r\n", "b\r\n", "c\r\n", "QUIT\r\n"});
        d.stream->fail_write_at(fail_at);
        REQUIRE_NOTHROW(serve(d));
        CHECK(d.stream->writes() == fail_at + 1);
        // The session stopped reading once it could not answer.
        CHECK(d.stream->reads() <= fail_at + 1);
    }
}

TEST_CASE("echo: the linked-in plugin makes the service for a listener that names it", "[session][plugin]") {
    const auto linked = plugin::linked_plugin_names(plugin::plugin_kind::service);
    CHECK(std::find(linked.begin(), linked.end(), "echo") != linked.end());
    plugin::fixed_settings none;
    plugin::host host({});  // no search path: linked-in plugins only
    host.load({{"echo", &none}});
    REQUIRE(host.provides_service("echo"));
    REQUIRE(host.loaded().front().origin == "linked-in");
    const auto service = host.make_service("echo");
    REQUIRE(service);
    CHECK(service->name() == "echo");
    auto d = make({"hello\r\nQUIT\r\n"});
    serve(d, *service);
    CHECK(d.stream->output() == greeting + "250 hello\r\n221 bye\r\n");
    CHECK(none.problems().empty());
}
