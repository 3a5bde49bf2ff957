// run_sasl: see the header.
#include "mailwright/server/sasl_exchange.hpp"

#include <fmt/format.h>

#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "mailwright/sasl/crypto.hpp"

namespace mailwright::server {

namespace {
sasl_outcome failed(std::string reason) {
    sasl_outcome out;
    out.step.log_reason = std::move(reason);
    return out;
}
}  // namespace

asio::awaitable<sasl_outcome> run_sasl(session& s, sasl::mechanism& mechanism,
                                       std::optional<std::string_view> initial_response,
                                       std::string_view challenge_prefix) {
    std::optional<std::string> initial;
    if (initial_response) {
        initial = *initial_response == "=" ? std::optional<std::string>("") : sasl::base64_decode(*initial_response);
        s.wipe_line(*initial_response);
        if (!initial) {
            co_return failed("malformed initial response");
        }
    }
    // Named first: g++ 12 destroys temporaries inside a co_await expression twice (docs/architecture.md).
    const std::optional<std::string_view> first =
        initial ? std::optional<std::string_view>(*initial) : std::optional<std::string_view>();
    auto step = co_await mechanism.start(first);
    if (initial) {
        sasl::wipe(*initial);
    }
    while (step.outcome == sasl::step::kind::challenge) {
        s.reply(fmt::format("{}{}\r\n", challenge_prefix, sasl::base64_encode(step.data)));
        const auto r = co_await s.read_line();
        if (r.status == read_status::too_long || r.status == read_status::bare_lf) {
            co_return failed("unusable response line");
        }
        if (r.status != read_status::line) {
            sasl_outcome out;
            out.result = sasl_outcome::kind::ended;
            out.ended_by = r.status;
            co_return out;
        }
        if (r.line == "*") {
            sasl_outcome out;
            out.result = sasl_outcome::kind::cancelled;
            co_return out;
        }
        // "=" is an empty initial response (RFC 4954 4, RFC 5034 4); curl sends it for an empty continuation
        // too, and it cannot be anything else, so it is read as empty there as well.
        auto response = r.line == "=" ? std::optional<std::string>("") : sasl::base64_decode(r.line);
        s.wipe_line(r.line);
        if (!response) {
            co_return failed("malformed response");
        }
        step = co_await mechanism.next(*response);
        sasl::wipe(*response);
    }
    sasl_outcome out;
    out.result = step.outcome == sasl::step::kind::success    ? sasl_outcome::kind::success
                 : step.outcome == sasl::step::kind::tempfail ? sasl_outcome::kind::tempfail
                                                              : sasl_outcome::kind::failure;
    out.step = std::move(step);
    co_return out;
}

asio::awaitable<void> penalise_failure(sasl::failure_penalty* penalty, const session& s, std::string_view attempted) {
    if (penalty == nullptr) {
        co_return;
    }
    const auto delay = penalty->failed(s.info().peer.address, attempted);
    if (delay.count() > 0) {
        asio::steady_timer timer(co_await asio::this_coro::executor, delay);
        co_await timer.async_wait(asio::use_awaitable);
    }
}

}  // namespace mailwright::server
