// connection_limiter: the global cap, the per-address cap, and release.
#include "server/connection_limiter.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <initializer_list>

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
address_key v6(std::initializer_list<unsigned char> leading, unsigned char last) {
    address_key key{};
    std::copy(leading.begin(), leading.end(), key.begin());
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

TEST_CASE("connection_limiter: IPv6 addresses count by their /64", "[limits]") {
    connection_limiter limiter(100, 2);  // the default prefix
    // 2001:db8:0:1::1, 2001:db8:0:1::2, ...: one /64, so one allowance however many addresses it uses.
    CHECK(limiter.try_acquire(v6({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1}, 1)) == verdict::accepted);
    CHECK(limiter.try_acquire(v6({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1}, 2)) == verdict::accepted);
    CHECK(limiter.try_acquire(v6({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0xff}, 3)) == verdict::too_many_from_address);
    // The next /64 has an allowance of its own.
    CHECK(limiter.try_acquire(v6({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 2}, 1)) == verdict::accepted);
    // A slot released by one address of the /64 is free for another.
    limiter.release(v6({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1}, 1));
    CHECK(limiter.try_acquire(v6({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1}, 9)) == verdict::accepted);
    CHECK(limiter.total() == 3);
}

TEST_CASE("connection_limiter: the IPv6 prefix is configurable, IPv4 is never grouped", "[limits]") {
    connection_limiter whole(100, 1, 128);
    CHECK(whole.try_acquire(v6({0x20, 0x01, 0x0d, 0xb8}, 1)) == verdict::accepted);
    CHECK(whole.try_acquire(v6({0x20, 0x01, 0x0d, 0xb8}, 2)) == verdict::accepted);

    connection_limiter by_56(100, 1, 56);
    CHECK(by_56.try_acquire(v6({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0x01}, 1)) == verdict::accepted);
    CHECK(by_56.try_acquire(v6({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0xfe}, 1)) == verdict::too_many_from_address);
    CHECK(by_56.try_acquire(v6({0x20, 0x01, 0x0d, 0xb8, 0, 0, 1, 0}, 1)) == verdict::accepted);

    connection_limiter by_60(100, 1, 60);  // a prefix that ends inside a byte
    CHECK(by_60.try_acquire(v6({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0x10}, 1)) == verdict::accepted);
    CHECK(by_60.try_acquire(v6({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0x1f}, 1)) == verdict::too_many_from_address);
    CHECK(by_60.try_acquire(v6({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0x20}, 1)) == verdict::accepted);

    connection_limiter v4(100, 1);  // 127.0.0.1 and 127.0.0.2 share 96 leading bits, and still count apart
    CHECK(v4.try_acquire(address(1)) == verdict::accepted);
    CHECK(v4.try_acquire(address(2)) == verdict::accepted);
}
