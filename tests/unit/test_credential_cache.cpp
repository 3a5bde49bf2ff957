// The verified-credentials cache: a hit after a verified match, expiry by its own clock, a changed stored hash
// missing, failures and stand-ins never remembered, the size bound (oldest out first), off with ttl or size 0.
#include "mailwright/sasl/credential_cache.hpp"

#include <catch2/catch.hpp>
#include <chrono>

#include "mailwright/sasl/check_password.hpp"
#include "mailwright/sasl/password.hpp"
#include "support.hpp"

using namespace mailwright;
using namespace std::chrono_literals;
using sasl::credential_cache;

namespace {

// A clock the test moves by hand.
struct manual_clock {
    credential_cache::clock::time_point now{std::chrono::hours(1)};
    std::function<credential_cache::clock::time_point()> source() {
        return [this] { return now; };
    }
};

credential_cache::options options(std::chrono::milliseconds ttl, std::size_t size) {
    return credential_cache::options{.ttl = ttl, .size = size};
}

}  // namespace

TEST_CASE("A remembered match is a hit, anything else a miss", "[credential_cache]") {
    manual_clock clock;
    credential_cache cache(options(5min, 100), clock.source());
    const auto key = cache.key_of("alice", "secret", "{CRYPT}$y$j9T$salt$hash");
    REQUIRE(key.size() == 32);
    CHECK_FALSE(cache.lookup(key));
    cache.remember(key);
    CHECK(cache.lookup(key));
    CHECK_FALSE(cache.lookup(cache.key_of("alice", "Secret", "{CRYPT}$y$j9T$salt$hash")));
    CHECK_FALSE(cache.lookup(cache.key_of("bob", "secret", "{CRYPT}$y$j9T$salt$hash")));
    const auto s = cache.statistics();
    CHECK(s.hits == 1);
    CHECK(s.misses == 3);
    CHECK(s.entries == 1);
}

TEST_CASE("The key is the same for the same three parts and differs when any part does", "[credential_cache]") {
    credential_cache cache(options(5min, 100));
    const auto key = cache.key_of("alice", "secret", "{PLAIN}secret");
    CHECK(key == cache.key_of("alice", "secret", "{PLAIN}secret"));
    // Length-prefixed parts: moving octets from one part to the next gives another key.
    CHECK(cache.key_of("ab", "c", "s") != cache.key_of("a", "bc", "s"));
    CHECK(cache.key_of("a", "b", "cs") != cache.key_of("a", "bc", "s"));
    CHECK(cache.key_of("a", std::string("b\0", 2), "s") != cache.key_of("a", "b", std::string("\0s", 2)));
    // A key of its own per cache: a MAC from one process means nothing in another.
    credential_cache other(options(5min, 100));
    CHECK(other.key_of("alice", "secret", "{PLAIN}secret") != key);
}

TEST_CASE("An entry expires ttl after the verification that made it, and a hit does not extend it",
          "[credential_cache]") {
    manual_clock clock;
    credential_cache cache(options(5min, 100), clock.source());
    const auto key = cache.key_of("alice", "secret", "{PLAIN}secret");
    cache.remember(key);
    clock.now += 4min;
    CHECK(cache.lookup(key));
    clock.now += 59s;
    CHECK(cache.lookup(key));
    clock.now += 1s;
    CHECK_FALSE(cache.lookup(key));
    CHECK(cache.statistics().entries == 0);  // dropped when found expired
    // Verified again, it lives another ttl.
    cache.remember(key);
    clock.now += 4min;
    CHECK(cache.lookup(key));
}

TEST_CASE("A changed stored hash misses at once", "[credential_cache]") {
    credential_cache cache(options(5min, 100));
    cache.remember(cache.key_of("alice", "old", "{SHA512-CRYPT}$6$one$hash"));
    CHECK(cache.lookup(cache.key_of("alice", "old", "{SHA512-CRYPT}$6$one$hash")));
    // The file now holds another hash (of the same or of a new password): the old entry is never found.
    CHECK_FALSE(cache.lookup(cache.key_of("alice", "old", "{SHA512-CRYPT}$6$two$hash")));
}

TEST_CASE("The cache holds at most size entries, the oldest going first", "[credential_cache]") {
    manual_clock clock;
    credential_cache cache(options(5min, 3), clock.source());
    std::vector<std::string> keys;
    for (int i = 0; i < 5; ++i) {
        keys.push_back(cache.key_of("user" + std::to_string(i), "pw", "{PLAIN}pw"));
        clock.now += 1s;
        const auto evicted = cache.remember(keys.back());
        CHECK(evicted == (i < 3 ? 0u : 1u));
    }
    CHECK(cache.statistics().entries == 3);
    CHECK(cache.statistics().evictions == 2);
    CHECK_FALSE(cache.lookup(keys[0]));
    CHECK_FALSE(cache.lookup(keys[1]));
    CHECK(cache.lookup(keys[2]));
    CHECK(cache.lookup(keys[4]));
    // Expired entries make room before anything live is evicted.
    clock.now += 10min;
    CHECK(cache.remember(cache.key_of("late", "pw", "{PLAIN}pw")) == 0);
    CHECK(cache.statistics().entries == 1);
}

TEST_CASE("A ttl or a size of 0 turns the cache off", "[credential_cache]") {
    for (const auto& o : {options(0ms, 100), options(5min, 0)}) {
        credential_cache cache(o);
        CHECK_FALSE(cache.enabled());
        const auto key = cache.key_of("alice", "secret", "{PLAIN}secret");
        CHECK(key.empty());
        CHECK(cache.remember(key) == 0);
        CHECK_FALSE(cache.lookup(key));
        CHECK(cache.statistics().entries == 0);
    }
}

TEST_CASE("A new ttl or a smaller size empties the cache, the same settings keep it", "[credential_cache]") {
    credential_cache cache(options(5min, 100));
    const auto key = cache.key_of("alice", "secret", "{PLAIN}secret");
    cache.remember(key);
    cache.configure(options(5min, 200));
    CHECK(cache.lookup(key));
    cache.configure(options(1min, 200));
    CHECK_FALSE(cache.lookup(key));
    cache.remember(key);
    cache.configure(options(1min, 0));
    CHECK_FALSE(cache.enabled());
    CHECK(cache.statistics().entries == 0);
}

TEST_CASE("check_password remembers a match only, and a stand-in never", "[credential_cache]") {
    auto& cache = sasl::process_credential_cache();
    sasl::configure_credential_cache(options(5min, 100));
    cache.clear();
    const auto stored = sasl::hash_password(sasl::scheme::sha512_crypt, "right");
    const auto before = cache.statistics();

    auto verdict = test::run(sasl::check_password("alice", stored, "wrong"));
    CHECK(verdict == sasl::check_result::mismatch);
    verdict = test::run(sasl::check_password("alice", stored, "wrong"));
    CHECK(verdict == sasl::check_result::mismatch);
    CHECK(cache.statistics().entries == 0);  // a failure is never cached: it is hashed every time
    CHECK(cache.statistics().hits == before.hits);

    verdict = test::run(sasl::check_stand_in("nobody", stored, "right"));
    CHECK(verdict == sasl::check_result::mismatch);  // an unknown user never logs in, even with the stand-in's password
    CHECK(cache.statistics().entries == 0);

    verdict = test::run(sasl::check_password("alice", stored, "right"));
    CHECK(verdict == sasl::check_result::match);
    CHECK(cache.statistics().entries == 1);
    CHECK(cache.statistics().hits == before.hits);
    verdict = test::run(sasl::check_password("alice", stored, "right"));
    CHECK(verdict == sasl::check_result::match);
    CHECK(cache.statistics().hits == before.hits + 1);

    // A wrong password after a success is still refused, and a new hash for alice misses.
    verdict = test::run(sasl::check_password("alice", stored, "wrong"));
    CHECK(verdict == sasl::check_result::mismatch);
    const auto changed = sasl::hash_password(sasl::scheme::sha512_crypt, "new");
    verdict = test::run(sasl::check_password("alice", changed, "right"));
    CHECK(verdict == sasl::check_result::mismatch);
    verdict = test::run(sasl::check_password("alice", changed, "new"));
    CHECK(verdict == sasl::check_result::match);

    verdict = test::run(sasl::check_password("alice", "{NOSUCH}x", "right"));
    CHECK(verdict == sasl::check_result::invalid);
    cache.clear();
}
