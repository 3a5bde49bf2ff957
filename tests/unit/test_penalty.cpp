// failure_penalty: growth, the cap, what a success clears, forgetting, grouping, and the bound on memory.
#include "mailwright/sasl/penalty.hpp"

#include <catch2/catch.hpp>

using mailwright::sasl::failure_penalty;
using namespace std::chrono_literals;

namespace {
struct fake_clock {
    failure_penalty::clock::time_point now{};
    std::function<failure_penalty::clock::time_point()> function() {
        return [this] { return now; };
    }
};
}  // namespace

TEST_CASE("penalty: 2 s doubling to 15 s, per address and per user", "[penalty]") {
    fake_clock clock;
    failure_penalty p({}, clock.function());
    CHECK(p.failed("192.0.2.1", "alice") == 2s);
    CHECK(p.failed("192.0.2.1", "alice") == 4s);
    CHECK(p.failed("192.0.2.1", "alice") == 8s);
    CHECK(p.failed("192.0.2.1", "alice") == 15s);
    CHECK(p.failed("192.0.2.1", "alice") == 15s);
    // Another address trying the same user is slowed too (a distributed guess at one account)...
    CHECK(p.failed("198.51.100.7", "alice") == 15s);
    // ...and the first address trying another user as well.
    CHECK(p.failed("192.0.2.1", "bob") == 15s);
    CHECK(p.failed("203.0.113.9", "carol") == 2s);  // unrelated: its own first failure
}

TEST_CASE("penalty: a success clears the record, and quiet time forgets it", "[penalty]") {
    fake_clock clock;
    failure_penalty p({}, clock.function());
    p.failed("192.0.2.1", "alice");
    p.failed("192.0.2.1", "alice");
    p.succeeded("192.0.2.1", "alice");
    CHECK(p.failed("192.0.2.1", "alice") == 2s);
    p.failed("192.0.2.1", "alice");
    clock.now += 16min;
    CHECK(p.failed("192.0.2.1", "alice") == 2s);
}

TEST_CASE("penalty: IPv6 addresses count by /48", "[penalty]") {
    CHECK(failure_penalty::address_key("2001:db8:1:2::5") == failure_penalty::address_key("2001:db8:1:ffff::9"));
    CHECK(failure_penalty::address_key("2001:db8:1::1") != failure_penalty::address_key("2001:db8:2::1"));
    CHECK(failure_penalty::address_key("192.0.2.1") == "ip:192.0.2.1");
}

TEST_CASE("penalty: the table is bounded", "[penalty]") {
    fake_clock clock;
    failure_penalty p({.max_entries = 10}, clock.function());
    for (int i = 0; i < 100; ++i) {
        clock.now += 1s;
        p.failed("192.0.2." + std::to_string(i), "");
    }
    // The oldest were evicted: the first address starts over.
    CHECK(p.failed("192.0.2.0", "") == 2s);
    CHECK(p.failed("192.0.2.99", "") == 4s);
}
