// connection_limiter: the global cap, the per-address cap, and release.
#include "server/connection_limiter.hpp"

#include <catch2/catch.hpp>

using mailwright::server::address_key;
using mailwright::server::connection_limiter;
using verdict = connection_limiter::verdict;

namespace {
address_key address(unsigned char last) {
    address_key key{};
    key[10] = key[11] = 0xff;  // IPv4-mapped 127.0.0.x
    key[12] = 127;
    key[15] = last;
    return key;
}
}  // namespace

TEST_CASE("connection_limiter: per-address cap", "[limits]") {
    connection_limiter limiter(10, 2);
    CHECK(limiter.try_acquire(address(1)) == verdict::accepted);
    CHECK(limiter.try_acquire(address(1)) == verdict::accepted);
    CHECK(limiter.try_acquire(address(1)) == verdict::too_many_from_address);
    CHECK(limiter.try_acquire(address(2)) == verdict::accepted);
    CHECK(limiter.total() == 3);
    limiter.release(address(1));
    CHECK(limiter.try_acquire(address(1)) == verdict::accepted);
}

TEST_CASE("connection_limiter: global cap", "[limits]") {
    connection_limiter limiter(3, 10);
    for (unsigned char i = 1; i <= 3; ++i) {
        CHECK(limiter.try_acquire(address(i)) == verdict::accepted);
    }
    CHECK(limiter.try_acquire(address(4)) == verdict::too_many_total);
    limiter.release(address(2));
    CHECK(limiter.total() == 2);
    CHECK(limiter.try_acquire(address(4)) == verdict::accepted);
}

TEST_CASE("connection_limiter: a refused address leaves no entry behind", "[limits]") {
    connection_limiter limiter(1, 1);
    REQUIRE(limiter.try_acquire(address(1)) == verdict::accepted);
    CHECK(limiter.try_acquire(address(2)) == verdict::too_many_total);
    limiter.release(address(2));  // never acquired: must not disturb the count
    CHECK(limiter.total() == 1);
    limiter.release(address(1));
    CHECK(limiter.total() == 0);
}
