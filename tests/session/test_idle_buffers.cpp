// Idle sessions hold no buffers: a session waiting for its client's next command has given its line buffer
// back to the thread's pool (io/buffer_pool.hpp), takes one when input arrives, and keeps it while a line is
// incomplete. Driven step by step over a memory_stream that waits for input (ending::wait), as a socket would.
#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "echo.hpp"
#include "mailwright/io/buffer_pool.hpp"
#include "mailwright/server/session.hpp"
#include "mailwright/testing/memory_stream.hpp"

using namespace mailwright;
using testing::memory_stream;

namespace {

long in_use() { return io::buffer_pool_statistics().in_use; }

// An echo session on its own io_context, run only as far as it can go (poll) between the test's steps.
struct stepped {
    asio::io_context io;
    memory_stream* stream = nullptr;  // owned by the session
    std::unique_ptr<server::session> session;
    echo::service echo;
    bool done = false;

    explicit stepped(std::vector<std::string> chunks) {
        auto owned = std::make_unique<memory_stream>(std::move(chunks));
        stream = owned.get();
        stream->end_with(memory_stream::ending::wait);
        session = std::make_unique<server::session>(std::move(owned), server::session_info{.id = 1},
                                                    server::session_options{});
        asio::co_spawn(
            io,
            [this]() -> asio::awaitable<void> {
                co_await echo.serve(*session);
                co_await session->flush();
                done = true;
            },
            asio::detached);
    }
    void step() {
        io.poll();
        io.restart();
    }
    void push(std::string text) {
        stream->push(std::move(text));
        step();
    }
};

const std::string greeting = "220 mailwright echo ready\r\n";

}  // namespace

TEST_CASE("idle: a session waiting for its next command holds no pooled buffer", "[session][idle]") {
    const long before = in_use();
    {
        stepped s({"one\r\n"});
        s.step();
        REQUIRE(s.stream->waiting());
        CHECK(s.stream->output() == greeting + "250 one\r\n");
        CHECK(in_use() == before);  // the line buffer went back before the wait
        CHECK(io::buffer_pool_statistics().held >= 1);

        s.push("two\r\nthr");  // a line, then the start of the next one
        REQUIRE(s.stream->waiting());
        CHECK(s.stream->output() == greeting + "250 one\r\n250 two\r\n");
        CHECK(in_use() == before + 1);  // "thr" is kept while the rest of its line is awaited

        s.push("ee\r\n");
        CHECK(s.stream->output() == greeting + "250 one\r\n250 two\r\n250 three\r\n");
        CHECK(in_use() == before);

        s.push("QUIT\r\n");
        CHECK(s.done);
        CHECK(s.stream->output() == greeting + "250 one\r\n250 two\r\n250 three\r\n221 bye\r\n");
    }
    CHECK(in_use() == before);
}

TEST_CASE("idle: pipelined input pushed in two parts split at every offset gives one dialogue", "[session][idle]") {
    const std::string input = "one\r\ntwo\r\nthree\r\nQUIT\r\n";
    const std::string expected = greeting + "250 one\r\n250 two\r\n250 three\r\n221 bye\r\n";
    const long before = in_use();
    for (std::size_t k = 0; k <= input.size(); ++k) {
        CAPTURE(k);
        stepped s({input.substr(0, k)});
        s.step();
        s.push(input.substr(k));
        CHECK(s.done);
        CHECK(s.stream->output() == expected);
    }
    CHECK(in_use() == before);
}

TEST_CASE("idle: input dropped by discard_input leaves nothing buffered, and the wait holds no buffer",
          "[session][idle][starttls]") {
    const long before = in_use();
    auto owned = std::make_unique<memory_stream>(std::vector<std::string>{"STARTTLS\r\nQUIT\r\n"});
    memory_stream& stream = *owned;
    stream.end_with(memory_stream::ending::wait);
    server::session session(std::move(owned), server::session_info{.id = 1}, server::session_options{});
    asio::io_context io;
    bool waited = false;
    std::size_t dropped = 0;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            const auto first = co_await session.read_line();
            CHECK(first.line == "STARTTLS");
            dropped = session.discard_input();  // what start_tls() does before the handshake
            const auto next = co_await session.read_line();
            waited = next.status == server::read_status::line && next.line == "after";
        },
        asio::detached);
    io.poll();
    io.restart();
    CHECK(dropped == 6);  // "QUIT\r\n", never executed
    REQUIRE(stream.waiting());
    CHECK(in_use() == before);
    stream.push("after\r\n");
    io.poll();
    CHECK(waited);
}

TEST_CASE("idle: a line buffer keeps its storage for a partial line and gives back an empty one wiped",
          "[session][idle][line_buffer]") {
    const long before = in_use();
    io::line_buffer buffer({.max_line = 512});
    CHECK_FALSE(buffer.holds_storage());
    auto room = buffer.prepare();
    const std::string text = "PASS secret\r\nUS";
    std::copy(text.begin(), text.end(), room.begin());
    buffer.commit(text.size());
    CHECK(in_use() == before + 1);
    const auto first = buffer.next();
    REQUIRE(first.kind == io::line_buffer::status::line);
    CHECK(first.line == "PASS secret");
    CHECK(buffer.next().kind == io::line_buffer::status::need_more);
    buffer.give_back();  // "US" is buffered: kept
    CHECK(buffer.holds_storage());
    CHECK(buffer.buffered() == "US");
    buffer.consume(2);
    buffer.give_back();
    CHECK_FALSE(buffer.holds_storage());
    CHECK(in_use() == before);
    // The pool hands out the storage just given back (last in, first out): it was wiped.
    io::pooled_buffer reused(512);
    CHECK(std::all_of(reused.data(), reused.data() + reused.size(), [](char c) { return c == 0; }));
}
