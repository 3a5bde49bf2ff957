// Password checks through the verified-credentials cache and the compute pool: see the header.
#include "mailwright/sasl/check_password.hpp"

#include <memory>
#include <optional>
#include <string>

#include "mailwright/io/compute.hpp"
#include "mailwright/metrics/instruments.hpp"
#include "mailwright/sasl/crypto.hpp"
#include "mailwright/sasl/password.hpp"

namespace mailwright::sasl {

namespace {

// The one copy of the password the hashing job holds, wiped however the job ends (run, or dropped unrun).
struct secret_copy {
    explicit secret_copy(std::string_view s) : text(s) {}
    secret_copy(const secret_copy&) = delete;
    secret_copy& operator=(const secret_copy&) = delete;
    ~secret_copy() { wipe(text); }
    std::string text;
};

asio::awaitable<check_result> check(std::string_view user, std::string_view stored, std::string_view password,
                                    bool known) {
    auto& cache = process_credential_cache();
    // Known or not, hit or miss: the MAC and the lookup are done alike, so only a right password is faster.
    const std::string key = cache.key_of(user, password, stored);
    if (!key.empty()) {
        const bool hit = cache.lookup(key);
        metrics::count_credential_cache(hit ? metrics::cache_event::hit : metrics::cache_event::miss);
        if (hit && known) {
            co_return check_result::match;
        }
    }
    auto work = [stored = std::string(stored), secret = std::make_unique<secret_copy>(password)] {
        return verify_password(stored, secret->text);
    };
    auto done = co_await io::compute(std::move(work));
    if (done.busy()) {
        co_return check_result::busy;
    }
    const std::optional<bool> verdict = *done;
    if (!verdict) {
        co_return known ? check_result::invalid : check_result::mismatch;
    }
    if (!*verdict || !known) {
        co_return check_result::mismatch;  // failures are never remembered
    }
    if (!key.empty()) {
        if (const auto evicted = cache.remember(key); evicted != 0) {
            metrics::count_credential_cache(metrics::cache_event::eviction, evicted);
        }
    }
    co_return check_result::match;
}

}  // namespace

asio::awaitable<check_result> check_password(std::string_view user, std::string_view stored,
                                             std::string_view password) {
    return check(user, stored, password, true);
}

asio::awaitable<check_result> check_stand_in(std::string_view user, std::string_view stand_in,
                                             std::string_view password) {
    return check(user, stand_in, password, false);
}

credential_cache& process_credential_cache() {
    // Never destroyed: a check may still end while the process exits, whatever the order of static destruction.
    static credential_cache* const cache = new credential_cache(credential_cache::options{});
    return *cache;
}

void configure_credential_cache(const credential_cache::options& options) {
    process_credential_cache().configure(options);
}

}  // namespace mailwright::sasl
