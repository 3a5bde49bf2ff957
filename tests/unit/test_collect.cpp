// The SDK's collecting delivery (plugin/collect.hpp): the pieces gathered, handed whole to `keep` at commit(),
// whether keep answers at once or awaits; a delivery given up keeps nothing.
#include "mailwright/plugin/collect.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "support.hpp"

namespace mw = mailwright::plugin;

namespace {

asio::awaitable<mw::delivery_result> push(mw::delivery& d, std::string_view text, const std::vector<bool>& wanted) {
    for (std::size_t at = 0; at < text.size(); at += 3) {
        const auto piece = text.substr(at, 3);
        const bool taken = co_await d.write(std::span<const char>(piece.data(), piece.size()));
        REQUIRE(taken);
    }
    auto result = co_await d.commit(wanted);
    co_return result;
}

}  // namespace

TEST_CASE("collect: the whole text and the wanted flags reach keep once, at commit", "[plugin][collect]") {
    int calls = 0;
    std::string kept;
    std::vector<bool> flags;
    auto d = mw::collect([&](std::string text, const std::vector<bool>& wanted) {
        ++calls;
        kept = std::move(text);
        flags = wanted;
        return mw::delivery_result::all(wanted.size(), mw::reply::accept());
    });
    const auto result = mailwright::test::run(push(*d, "Subject: x\r\n\r\nbody\r\n", {true, false}));
    CHECK(calls == 1);
    CHECK(kept == "Subject: x\r\n\r\nbody\r\n");
    CHECK(flags == std::vector<bool>{true, false});
    REQUIRE(result.recipients.size() == 2);
    CHECK(result.recipients[0].ok());
}

TEST_CASE("collect: keep may be a coroutine, and its answer is the delivery's", "[plugin][collect]") {
    auto d = mw::collect([](std::string text, const std::vector<bool>& wanted) -> asio::awaitable<mw::delivery_result> {
        co_return mw::delivery_result::all(wanted.size(), text.empty() ? mw::reply::accept() : mw::reply::tempfail());
    });
    const auto result = mailwright::test::run(push(*d, "text", {true}));
    REQUIRE(result.recipients.size() == 1);
    CHECK(result.recipients[0].temporary());
}

TEST_CASE("collect: a delivery given up never calls keep", "[plugin][collect]") {
    bool called = false;
    {
        auto d = mw::collect([&](std::string, const std::vector<bool>& wanted) {
            called = true;
            return mw::delivery_result::all(wanted.size(), mw::reply::accept());
        });
        const std::string piece = "part of a message";
        CHECK(mailwright::test::run(d->write(std::span<const char>(piece.data(), piece.size()))));
    }
    CHECK_FALSE(called);
}
