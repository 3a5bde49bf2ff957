// The ratelimit plugin's engine: SipHash test vectors, the GCRA token bucket (a burst of `count`, refill at
// count per interval, the time to retry), the keys (address, /24, /64, user, sender), give-back on refusal,
// collisions erring strict, concurrent takes, and [plugin.ratelimit] parsing. Time is passed in: no sleeping.
#include "limiter.hpp"

#include <catch2/catch.hpp>
#include <mailwright/plugin/fixed_settings.hpp>
#include <thread>

#include "bucket_table.hpp"
#include "keyed_hash.hpp"
#include "rules.hpp"

using namespace mailwright::ratelimit;
using namespace std::chrono_literals;
using std::chrono::nanoseconds;

namespace {
constexpr hash_key test_key{0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};

rules with(counted what, scope by, std::uint32_t count, nanoseconds interval) {
    rules r;
    r.slots = 4096;
    r.at(what, by) = rate{count, interval};
    return r;
}

// How many of `n` events at `now` are allowed.
int allowed(limiter& l, counted what, const subject& who, nanoseconds now, int n) {
    int ok = 0;
    for (int i = 0; i < n; ++i) {
        ok += l.take(what, who, now).allowed ? 1 : 0;
    }
    return ok;
}
}  // namespace

TEST_CASE("keyed_hash: SipHash-2-4 reference vectors", "[ratelimit]") {
    keyed_hash empty(test_key);
    CHECK(empty.finish() == 0x726fdb47dd0e0e31ULL);
    keyed_hash fifteen(test_key);
    for (unsigned char b = 0; b < 15; ++b) {
        fifteen.byte(b);
    }
    CHECK(fifteen.finish() == 0xa129ca6149be45e5ULL);
    keyed_hash upper(test_key), lower(test_key);
    upper.bytes_lowercase("Alice@Example.ORG");
    lower.bytes("alice@example.org");
    CHECK(upper.finish() == lower.finish());
}

TEST_CASE("bucket_table: a burst of count, then one token per interval/count", "[ratelimit]") {
    bucket_table t(16);
    const rate r{3, 3s};
    const nanoseconds t0 = 100s;
    CHECK(t.take(1, r, t0) == 0ns);
    CHECK(t.take(1, r, t0) == 0ns);
    CHECK(t.take(1, r, t0) == 0ns);
    CHECK(t.take(1, r, t0) == 1s);  // empty: the next token comes in 1 s
    CHECK(t.take(1, r, t0 + 999ms) == 1ms);
    CHECK(t.take(1, r, t0 + 1s) == 0ns);
    CHECK(t.take(1, r, t0 + 1s) == 1s);
    // After a whole quiet interval the bucket is full again, and not fuller.
    const nanoseconds later = t0 + 1h;
    CHECK(t.take(1, r, later) == 0ns);
    CHECK(t.take(1, r, later) == 0ns);
    CHECK(t.take(1, r, later) == 0ns);
    CHECK(t.take(1, r, later) == 1s);
}

TEST_CASE("bucket_table: a refused take changes nothing, give_back returns a token", "[ratelimit]") {
    bucket_table t(16);
    const rate r{2, 10s};
    CHECK(t.take(7, r, 0s) == 0ns);
    CHECK(t.take(7, r, 0s) == 0ns);
    for (int i = 0; i < 100; ++i) {
        CHECK(t.take(7, r, 1s) == 4s);  // hammering an empty bucket does not push the retry further
    }
    t.give_back(7, r);
    CHECK(t.take(7, r, 1s) == 0ns);
    CHECK(t.take(7, r, 1s) == 4s);
}

TEST_CASE("bucket_table: an interval that count does not divide still allows count at once", "[ratelimit]") {
    bucket_table t(1);
    const rate r{3, 1s};  // a token is worth 333.33 ms, rounded up
    for (int i = 0; i < 3; ++i) {
        CHECK(t.take(0, r, 5s) == 0ns);
    }
    CHECK(t.take(0, r, 5s) > 333ms);
    CHECK(t.take(0, r, 5s) <= 334ms);
}

TEST_CASE("limiter: per client address, the time to retry", "[ratelimit]") {
    limiter l(with(counted::connections, scope::client, 2, 2s), test_key);
    const subject a{"192.0.2.1", {}, {}}, b{"192.0.2.2", {}, {}};
    CHECK(allowed(l, counted::connections, a, 10s, 5) == 2);
    const verdict v = l.take(counted::connections, a, 10s);
    CHECK_FALSE(v.allowed);
    CHECK(v.by == scope::client);
    CHECK(v.retry_after == 1s);
    CHECK(allowed(l, counted::connections, b, 10s, 5) == 2);  // another address: its own bucket
    CHECK(allowed(l, counted::messages, a, 10s, 5) == 5);     // another kind of event: no rule
    CHECK(allowed(l, counted::connections, a, 12s, 5) == 2);  // after the interval: released
}

TEST_CASE("limiter: IPv4-mapped IPv6 is the IPv4 address, /24 and /64 networks", "[ratelimit]") {
    limiter c(with(counted::connections, scope::client, 1, 1min), test_key);
    CHECK(c.take(counted::connections, {"192.0.2.1", {}, {}}, 0s).allowed);
    CHECK_FALSE(c.take(counted::connections, {"::ffff:192.0.2.1", {}, {}}, 0s).allowed);
    CHECK(c.take(counted::connections, {"2001:db8::1", {}, {}}, 0s).allowed);
    CHECK_FALSE(c.take(counted::connections, {"2001:db8:0:0::1", {}, {}}, 0s).allowed);  // the same address

    limiter n(with(counted::messages, scope::network, 2, 1min), test_key);
    CHECK(n.take(counted::messages, {"192.0.2.1", {}, {}}, 0s).allowed);
    CHECK(n.take(counted::messages, {"192.0.2.200", {}, {}}, 0s).allowed);
    CHECK_FALSE(n.take(counted::messages, {"192.0.2.9", {}, {}}, 0s).allowed);
    CHECK(n.take(counted::messages, {"192.0.3.1", {}, {}}, 0s).allowed);  // the next /24
    CHECK(n.take(counted::messages, {"2001:db8:1:2::1", {}, {}}, 0s).allowed);
    CHECK(n.take(counted::messages, {"2001:db8:1:2:ffff::7", {}, {}}, 0s).allowed);
    const verdict v = n.take(counted::messages, {"2001:db8:1:2::99", {}, {}}, 0s);
    CHECK_FALSE(v.allowed);
    CHECK(v.by == scope::network);
    CHECK(n.take(counted::messages, {"2001:db8:1:3::1", {}, {}}, 0s).allowed);  // the next /64
}

TEST_CASE("limiter: per user and per sender, case folded, <> and no user not limited", "[ratelimit]") {
    limiter u(with(counted::recipients, scope::user, 3, 1min), test_key);
    CHECK(allowed(u, counted::recipients, {"192.0.2.1", "alice", {}}, 0s, 5) == 3);
    CHECK(allowed(u, counted::recipients, {"198.51.100.1", "alice", {}}, 0s, 5) == 0);  // from anywhere
    CHECK(allowed(u, counted::recipients, {"192.0.2.1", "bob", {}}, 0s, 5) == 3);
    CHECK(allowed(u, counted::recipients, {"192.0.2.1", {}, {}}, 0s, 5) == 5);  // not authenticated

    limiter s(with(counted::messages, scope::sender, 1, 1min), test_key);
    CHECK(s.take(counted::messages, {"192.0.2.1", {}, "Bob@Example.org"}, 0s).allowed);
    const verdict v = s.take(counted::messages, {"192.0.2.7", {}, "bob@example.ORG"}, 0s);
    CHECK_FALSE(v.allowed);
    CHECK(v.by == scope::sender);
    CHECK(allowed(s, counted::messages, {"192.0.2.1", {}, {}}, 0s, 5) == 5);  // the null reverse-path
}

TEST_CASE("limiter: a refusal by a later rule gives the earlier rules' tokens back", "[ratelimit]") {
    rules r = with(counted::messages, scope::client, 3, 1min);
    r.at(counted::messages, scope::sender) = rate{1, 1min};
    limiter l(r, test_key);
    CHECK(l.take(counted::messages, {"192.0.2.1", {}, "a@example.org"}, 0s).allowed);
    for (int i = 0; i < 10; ++i) {
        const verdict v = l.take(counted::messages, {"192.0.2.1", {}, "a@example.org"}, 0s);
        CHECK_FALSE(v.allowed);
        CHECK(v.by == scope::sender);
    }
    // The client's bucket lost only the one message that went through.
    CHECK(allowed(l, counted::messages, {"192.0.2.1", {}, "b@example.org"}, 0s, 1) == 1);
    CHECK(allowed(l, counted::messages, {"192.0.2.1", {}, "c@example.org"}, 0s, 1) == 1);
    const verdict v = l.take(counted::messages, {"192.0.2.1", {}, "d@example.org"}, 0s);
    CHECK_FALSE(v.allowed);
    CHECK(v.by == scope::client);
}

TEST_CASE("limiter: keys sharing a slot share a bucket, which errs strict", "[ratelimit]") {
    rules r = with(counted::connections, scope::client, 2, 1min);
    r.slots = 1;  // every key collides
    limiter l(r, test_key);
    CHECK(l.take(counted::connections, {"192.0.2.1", {}, {}}, 0s).allowed);
    CHECK(l.take(counted::connections, {"192.0.2.2", {}, {}}, 0s).allowed);
    CHECK_FALSE(l.take(counted::connections, {"192.0.2.3", {}, {}}, 0s).allowed);  // never more than 2 in all
}

TEST_CASE("limiter: concurrent takes never let more than count through", "[ratelimit]") {
    limiter l(with(counted::recipients, scope::client, 5000, 1h), test_key);
    std::atomic<int> ok{0};
    const auto work = [&] {
        for (int i = 0; i < 20000; ++i) {
            ok += l.take(counted::recipients, {"192.0.2.1", {}, {}}, 1s).allowed ? 1 : 0;
        }
    };
    std::thread one(work), two(work);
    one.join();
    two.join();
    CHECK(ok.load() == 5000);
}

TEST_CASE("rules: COUNT/INTERVAL", "[ratelimit]") {
    const auto r = parse_rate("20/1m");
    REQUIRE(r);
    CHECK(r->count == 20);
    CHECK(r->interval == 60s);
    CHECK(parse_rate("5/250ms")->interval == 250ms);
    CHECK(parse_rate("1/30")->interval == 30s);  // a bare number is seconds, as everywhere in the config
    for (const char* bad : {"", "20", "/1m", "0/1m", "-1/1m", "x/1m", "20/", "20/0s", "20/abc", "2000000/1m", "20/169h",
                            " 20/1m", "20 /1m"}) {
        INFO(bad);
        CHECK_FALSE(parse_rate(bad));
    }
}

TEST_CASE("rules: read from [plugin.ratelimit], a bad value reported", "[ratelimit]") {
    mailwright::plugin::fixed_settings good{
        {"client_connections", std::string("20/1m")},
        {"sender_recipients", std::string("100/1h")},
        {"slots", std::int64_t{2048}},
    };
    const rules r = read_rules(good);
    CHECK(good.problems().empty());
    CHECK(r.slots == 2048);
    CHECK(r.at(counted::connections, scope::client).count == 20);
    CHECK(r.at(counted::recipients, scope::sender).interval == 1h);
    CHECK(r.at(counted::messages, scope::client).count == 0);
    CHECK(r.any());

    mailwright::plugin::fixed_settings bad{{"user_messages", std::string("lots")}, {"slots", std::int64_t{3}}};
    const rules b = read_rules(bad);
    CHECK(bad.problems().size() == 2);
    CHECK_FALSE(b.any());
    CHECK(b.slots == 65536);
}
