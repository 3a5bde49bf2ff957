// The shared AUTH steps: see the header.
#include "mailwright/server/sasl_exchange.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <cctype>

#include "mailwright/metrics/instruments.hpp"
#include "mailwright/sasl/crypto.hpp"

namespace mailwright::server {

namespace {

// A response to a challenge may be longer than a command line: RFC 4954 4 wants whatever the mechanisms need,
// and names 12288 octets as enough for those deployed (an OAuth 2.0 token from Entra ID is 1.5 to 2.5 KB
// before base64); Postfix's smtpd_sasl_response_limit is the same. Plus the CRLF.
constexpr std::size_t max_response_line = 12288 + 2;

sasl_outcome failed(std::string reason) {
    sasl_outcome out;
    out.step.log_reason = std::move(reason);
    return out;
}

bool contains(const std::vector<std::string>& names, std::string_view name) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

// A verdict on credentials is counted; a client that gave up or went away gave none.
void count_login(std::string_view mechanism, sasl_outcome::kind result) {
    using enum sasl_outcome::kind;
    if (result == success || result == failure || result == tempfail) {
        metrics::count_login(mechanism, result == success   ? metrics::login_outcome::ok
                                        : result == failure ? metrics::login_outcome::failed
                                                            : metrics::login_outcome::tempfail);
    }
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
        const auto r = co_await s.read_line(max_response_line);
        if (r.status == read_status::too_long || r.status == read_status::bare_lf) {
            co_return failed("unusable response line");
        }
        if (step.refused && (r.status != read_status::line || r.line == "*")) {
            step.outcome = sasl::step::kind::failure;  // failed before the client left: counted, logged
            break;
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

std::vector<std::string> offered_mechanisms(const session& s, const auth_settings& settings) {
    if (settings.requires_tls && !s.tls_active()) {
        return {};  // not even SCRAM: what the login unlocks would travel in the clear
    }
    return sasl::offered(settings.mechanisms, s.tls_active() ? &s.tls_channel() : nullptr, settings.plaintext_auth,
                         settings.auth);
}

asio::awaitable<auth_outcome> authenticate(session& s, const auth_settings& settings, auth_request request) {
    auth_outcome out;
    out.mechanism = std::string(request.mechanism);
    std::transform(out.mechanism.begin(), out.mechanism.end(), out.mechanism.begin(),
                   [](unsigned char c) { return std::toupper(c); });
    if (!contains(offered_mechanisms(s, settings), out.mechanism)) {
        // One the listener would offer inside TLS: the client can do something about it (STARTTLS). A bare
        // channel (no certificate, no channel binding) adds the TLS-only ones and nothing else.
        const tls::channel_info inside_tls;
        const auto with_tls = sasl::offered(settings.mechanisms, &inside_tls, true, settings.auth);
        out.what = !s.tls_active() && contains(with_tls, out.mechanism) ? auth_outcome::kind::needs_tls
                                                                        : auth_outcome::kind::not_offered;
        co_return out;
    }
    const sasl::context ctx{.auth = *settings.auth,
                            .tls = s.tls_active() ? &s.tls_channel() : nullptr,
                            .hostname = std::string(settings.hostname),
                            .make_nonce = {}};
    const auto mechanism = sasl::make_mechanism(out.mechanism, ctx);
    if (!mechanism) {
        out.what = auth_outcome::kind::not_offered;  // configured and offered, but unknown to sasl::
        co_return out;
    }
    const auto exchanged = co_await run_sasl(s, *mechanism, request.initial_response, request.challenge_prefix);
    count_login(out.mechanism, exchanged.result);
    switch (exchanged.result) {
        case sasl_outcome::kind::success:
            out.what = auth_outcome::kind::success;
            out.user = exchanged.step.user;
            break;
        case sasl_outcome::kind::tempfail:
            out.what = auth_outcome::kind::tempfail;
            out.reason = exchanged.step.log_reason;
            out.tempfail_reply = exchanged.step.tempfail_reply;
            break;
        case sasl_outcome::kind::cancelled:
            out.what = auth_outcome::kind::cancelled;
            break;
        case sasl_outcome::kind::ended:
            out.what = auth_outcome::kind::ended;
            out.ended_by = exchanged.ended_by;
            break;
        case sasl_outcome::kind::failure:
            spdlog::info("{} AUTH {}: {}", s.log_prefix(), out.mechanism, exchanged.step.log_reason);
            out.what = auth_outcome::kind::failure;
            out.attempted = exchanged.step.attempted;
            break;
    }
    co_return out;
}

asio::awaitable<bool> failed_login(unsigned& failures, const auth_settings& settings, const session& s,
                                   std::string_view mechanism, std::string_view attempted) {
    spdlog::info("{} authentication failed client={} mechanism={} listener={}{}{}", s.log_prefix(),
                 s.info().peer.address, mechanism, s.info().listener, attempted.empty() ? "" : " user=", attempted);
    ++failures;
    co_await penalise_failure(settings.penalty, s, attempted);
    co_return failures >= settings.max_failures;
}

}  // namespace mailwright::server
