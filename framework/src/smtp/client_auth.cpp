// AUTH for the SMTP/LMTP client (RFC 4954): SCRAM-SHA-256, PLAIN or LOGIN, the first of them the server
// offers, never in the clear unless plaintext_auth. Secrets never reach the log: note() is given a stand-in.
#include <spdlog/spdlog.h>

#include "client_session.hpp"
#include "mailwright/io/compute.hpp"
#include "mailwright/sasl/crypto.hpp"

namespace mailwright::smtp::client {

using detail::own_reply;

namespace {

// A 334 challenge's text, base64-decoded; nullopt when it is not base64.
std::optional<std::string> challenge(const reply& r) {
    return sasl::base64_decode(r.lines.empty() ? std::string_view{} : std::string_view(r.lines.front()));
}

}  // namespace

asio::awaitable<std::optional<reply>> session::impl::authenticate() {
    if (!encrypted && !opts.plaintext_auth) {
        auto why = own_reply(451, "4.7.0", "not authenticating to " + where.to_string() + " without TLS");
        co_return co_await refuse(std::move(why));
    }
    reply answer;
    if (caps.offers_mechanism("SCRAM-SHA-256")) {
        answer = co_await scram();
    } else if (caps.offers_mechanism("PLAIN")) {
        answer = co_await plain();
    } else if (caps.offers_mechanism("LOGIN")) {
        answer = co_await login();
    } else {
        auto why = own_reply(451, "4.7.0",
                             where.to_string() +
                                 " offers no SASL mechanism this client knows (SCRAM-SHA-256, PLAIN, "
                                 "LOGIN): AUTH " +
                                 std::string(caps.parameters("AUTH")));
        co_return co_await refuse(std::move(why));
    }
    if (failure) {
        co_return failure;
    }
    if (answer.code != 235) {
        co_return co_await refuse(std::move(answer));
    }
    spdlog::debug("{} authenticated as {}", peer, opts.user);
    co_return std::nullopt;
}

asio::awaitable<reply> session::impl::plain() {
    std::string credentials = std::string(1, '\0') + opts.user + '\0' + opts.password;
    std::string line = "AUTH PLAIN " + sasl::base64_encode(credentials);
    sasl::wipe(credentials);
    auto answer = co_await command(line, "AUTH PLAIN (credentials)");
    sasl::wipe(line);
    co_return answer;
}

asio::awaitable<reply> session::impl::login() {
    auto answer = co_await command("AUTH LOGIN");
    if (answer.code != 334) {
        co_return answer;
    }
    const std::string user = sasl::base64_encode(opts.user);
    answer = co_await command(user, "(user name)");
    if (answer.code != 334) {
        co_return answer;
    }
    std::string password = sasl::base64_encode(opts.password);
    answer = co_await command(password, "(password)");
    sasl::wipe(password);
    co_return answer;
}

asio::awaitable<reply> session::impl::scram() {
    detail::scram_client scram(opts.user, opts.password);
    const std::string first = "AUTH SCRAM-SHA-256 " + sasl::base64_encode(scram.first_message());
    auto answer = co_await command(first);
    if (answer.code != 334) {
        co_return answer;
    }
    const auto server_first = challenge(answer);
    const auto iterations = server_first ? scram.iterations(*server_first) : std::nullopt;
    if (!iterations) {
        co_await command("*");  // RFC 4954 4: cancels the exchange
        co_return own_reply(451, "4.7.0", where.to_string() + " sent an unusable SCRAM challenge");
    }
    // PBKDF2 with thousands of iterations takes milliseconds: not on the event loop, on the compute pool.
    auto work = [&scram, &server_first, n = *iterations] { return scram.salt_password(*server_first, n); };
    auto derived = co_await io::compute(std::move(work));
    if (derived.busy()) {
        co_await command("*");
        co_return own_reply(451, "4.3.0", "no room to compute the SCRAM key for " + where.to_string() + " now");
    }
    std::string salted = std::move(*derived);
    std::string final_message = sasl::base64_encode(scram.final_message(*server_first, salted));
    sasl::wipe(salted);
    answer = co_await command(final_message, "(SCRAM client-final-message)");
    sasl::wipe(final_message);
    if (answer.code != 334) {
        // A 235 without the server's proof would leave us unsure whom we authenticated to: RFC 5802 makes
        // that proof part of the mechanism.
        co_return answer.code == 235
            ? own_reply(451, "4.7.0", where.to_string() + " did not prove that it knows the SCRAM secret")
            : answer;
    }
    const auto server_final = challenge(answer);
    if (!server_final || !scram.verify_server(*server_final)) {
        co_await command("*");
        co_return own_reply(451, "4.7.0", where.to_string() + " failed SCRAM's server authentication");
    }
    co_return co_await command("");
}

}  // namespace mailwright::smtp::client
