// The POP3 dialogue with one client (RFC 1939, 2449, 2595, 3206, 5034, 6856): the loop, AUTHORIZATION, STLS
// and CAPA; the TRANSACTION commands are in transaction.cpp, the class both share in dialogue.hpp. It reads a
// line, parses it (command.cpp), asks the state table (state.cpp), acts through the auth chain and the
// mailstore, and replies. Replies are queued and leave in one write when the client has no
// more commands buffered, so pipelined commands (RFC 2449 6.6) cost one write per batch. What it does as SMTP
// does (what a read means, the AUTH exchange and the count of failures, STLS's checks and handshake) is in
// server/dialogue_steps and server/sasl_exchange; this file says POP3's replies (their texts are in
// replies.hpp) and keeps POP3's state.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "dialogue.hpp"
#include "mailwright/io/utf8.hpp"
#include "mailwright/metrics/instruments.hpp"
#include "mailwright/pop3/command.hpp"
#include "mailwright/pop3/service.hpp"
#include "mailwright/pop3/state.hpp"
#include "mailwright/sasl/crypto.hpp"
#include "mailwright/sasl/mechanism.hpp"
#include "mailwright/sasl/saslprep.hpp"
#include "mailwright/server/dialogue_steps.hpp"
#include "mailwright/server/sasl_exchange.hpp"
#include "mailwright/server/session.hpp"
#include "plugin/reply_text.hpp"
#include "replies.hpp"

namespace mailwright::pop3 {

namespace detail {

namespace {
// USER/PASS and APOP as the metrics count them (AUTH is counted in server/sasl_exchange).
metrics::login_outcome login_outcome(auth_status status) {
    return status == auth_status::ok         ? metrics::login_outcome::ok
           : status == auth_status::tempfail ? metrics::login_outcome::tempfail
                                             : metrics::login_outcome::failed;
}
}  // namespace

// A client's text as it may appear inside a reply: at most `max` octets, control characters as '?' (UTF-8
// stays: RFC 6856 allows it in replies).
// A CR or NUL the client sent must never come back inside a reply line (found by fuzz_pop3_session).
std::string printable(std::string_view text, std::size_t max) {
    std::string out(text.substr(0, max));
    for (char& c : out) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
            c = '?';
        }
    }
    return out;
}

asio::awaitable<void> dialogue::run(service& svc, server::session& s) {
    dialogue d(svc, s);
    if (d.apop_available()) {
        d.timestamp_ = sasl::apop_timestamp(d.options_.hostname);
    }
    d.ok(replies::greeting(d.timestamp_));
    for (;;) {
        s.set_state(to_string(d.state_));  // what the administrator sees (mailwrightctl sessions)
        s.set_user(d.authenticated_);
        const auto r = co_await s.read_line();
        const server::read_step read = server::interpret(s, r, replies::to_reads);
        if (read.what == server::read_step::kind::over) {
            co_return;
        }
        next n = next::go_on;
        if (read.what == server::read_step::kind::command) {
            n = co_await d.on_line(read.text);
        } else {
            n = d.bad_command(read.text);
        }
        if (n == next::close) {
            co_return;
        }
    }
}

asio::awaitable<next> dialogue::on_line(std::string_view line) {
    const parsed p = parse(line);
    if (p.error == errc::unknown_command || p.error == errc::empty_line) {
        co_return bad_command(replies::unknown_command);
    }
    if (!allowed(p.cmd, state_)) {
        co_return bad_command(replies::not_allowed(p.cmd, state_));
    }
    if (p.error) {
        co_return bad_command(replies::syntax_error(p.cmd));
    }
    co_return co_await dispatch(p);
}

next dialogue::bad_command(std::string_view reply) {
    if (++bad_commands_ >= options_.max_bad_commands) {
        err(replies::too_many_bad_commands(reply));
        spdlog::info("{} closed after {} bad commands", s_.log_prefix(), bad_commands_);
        return next::close;
    }
    err(reply);
    return next::go_on;
}

asio::awaitable<next> dialogue::dispatch(const parsed& p) {
    switch (p.cmd) {
        case command::user:
            co_return on_user(p.args[0]);
        case command::pass:
            co_return co_await on_pass(p.args[0]);
        case command::apop:
            co_return co_await on_apop(p.args[0], p.args[1]);
        case command::auth:
            co_return co_await on_auth(p);
        case command::stls:
            co_return co_await on_stls();
        case command::capa:
            on_capa();
            co_return next::go_on;
        case command::utf8:
            utf8_ = true;
            ok(replies::utf8_enabled);
            co_return next::go_on;
        case command::quit:
            co_return co_await on_quit();
        case command::stat:
            on_stat();
            co_return next::go_on;
        case command::list:
            on_list(p, false);
            co_return next::go_on;
        case command::uidl:
            on_list(p, true);
            co_return next::go_on;
        case command::retr:
        case command::top:
            co_return co_await on_retrieve(p);
        case command::dele:
            co_return co_await on_dele(p);
        case command::noop:
            s_.reply("+OK\r\n");
            co_return next::go_on;
        case command::rset:
            on_rset();
            co_return next::go_on;
    }
    co_return bad_command(replies::unknown_command);
}

// --- AUTHORIZATION ------------------------------------------------------------------------------------------

bool dialogue::acceptable_user_name(std::string_view name) {
    if (name.size() > max_user_name ||
        std::any_of(name.begin(), name.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; })) {
        err(replies::invalid_user_name);
        return false;
    }
    if (io::has_non_ascii(name)) {
        if (!utf8_) {
            err(replies::utf8_user_needs_utf8);
            return false;
        }
        if (!io::well_formed_utf8(name)) {
            err(replies::user_not_utf8);
            return false;
        }
    }
    return true;
}

next dialogue::on_user(std::string_view name) {
    if (!plaintext_allowed()) {
        err(replies::plaintext_needs_tls);
        return next::go_on;
    }
    if (!acceptable_user_name(name)) {
        state_ = after(command::user, state_, outcome::failure);
        user_.clear();
        return next::go_on;
    }
    // The same answer whether or not the user exists: no enumeration (RFC 1939 13).
    user_ = std::string(name);
    state_ = after(command::user, state_);
    ok(replies::send_pass);
    return next::go_on;
}

asio::awaitable<next> dialogue::on_pass(std::string_view password) {
    const std::string user = std::move(user_);
    user_.clear();
    // Until it succeeds, PASS counts as failed: a failed PASS starts AUTHORIZATION over (RFC 1939 7).
    const state issued_in = std::exchange(state_, after(command::pass, state_, outcome::failure));
    if (!plaintext_allowed()) {
        err(replies::plaintext_needs_tls);
        co_return next::go_on;
    }
    // Prepared as AUTH PLAIN prepares them (RFC 4616 2, saslprep.hpp), so the same password works through both.
    const sasl::credentials given = sasl::prepare_credentials(user, password);
    s_.wipe_line(password);
    plugin::auth_result result;
    if (given.refused.empty()) {
        result = co_await env_.auth->verify_password(given.user, given.password);
    } else {
        spdlog::info("{} USER/PASS: {}", s_.log_prefix(), given.refused);
    }
    metrics::count_login("USER", login_outcome(result.status));
    co_return co_await login(command::pass, issued_in, result, given.user.empty() ? user : given.user);
}

asio::awaitable<next> dialogue::on_apop(std::string_view name, std::string_view digest) {
    // Until it succeeds, APOP counts as failed: the name USER gave is forgotten.
    user_.clear();
    const state issued_in = std::exchange(state_, after(command::apop, state_, outcome::failure));
    if (!apop_available()) {
        err(replies::apop_unavailable);
        co_return next::go_on;
    }
    if (!auth_allowed()) {
        err(replies::auth_needs_tls);
        co_return next::go_on;
    }
    if (!acceptable_user_name(name)) {
        co_return next::go_on;
    }
    const auto result = co_await sasl::verify_apop(*env_.auth, name, timestamp_, digest);
    metrics::count_login("APOP", login_outcome(result.status));
    co_return co_await login(command::apop, issued_in, result, name);
}

asio::awaitable<next> dialogue::on_auth(const parsed& p) {
    // Until it succeeds, AUTH counts as failed: the name USER gave is forgotten.
    user_.clear();
    const state issued_in = std::exchange(state_, after(command::auth, state_, outcome::failure));
    if (p.argc == 0) {
        // Not in RFC 5034, but what clients that predate it send to learn the mechanisms (Dovecot answers it).
        std::string text = "+OK\r\n";
        for (const auto& m : mechanisms()) {
            text += m + "\r\n";
        }
        s_.reply(text + ".\r\n");
        co_return next::go_on;
    }
    if (!auth_allowed()) {
        err(replies::auth_needs_tls);
        co_return next::go_on;
    }
    const server::auth_settings settings = auth_settings();
    const server::auth_request request{
        .mechanism = p.args[0],
        .initial_response = p.argc == 2 ? std::optional<std::string_view>(p.args[1]) : std::nullopt,
        .challenge_prefix = replies::auth_challenge_prefix};
    const server::auth_outcome exchange = co_await server::authenticate(s_, settings, request);
    switch (exchange.what) {
        case server::auth_outcome::kind::success: {
            const plugin::auth_result ok{auth_status::ok, exchange.user, {}};  // named first: see run_sasl
            co_return co_await login(command::auth, issued_in, ok, exchange.user);
        }
        case server::auth_outcome::kind::tempfail: {
            // login() warns of it too, as of any backend that could not decide.
            spdlog::info("{} AUTH {}: {}", s_.log_prefix(), exchange.mechanism, exchange.reason);
            const plugin::auth_result tempfail{auth_status::tempfail, {}, exchange.reason, exchange.tempfail_reply};
            co_return co_await login(command::auth, issued_in, tempfail, "");
        }
        case server::auth_outcome::kind::cancelled:
            err(replies::auth_cancelled);  // RFC 5034 4: the client gave up; not a failed attempt
            co_return next::go_on;
        case server::auth_outcome::kind::ended:
            server::say_goodbye(s_, exchange.ended_by, replies::to_reads);
            co_return next::close;
        case server::auth_outcome::kind::not_offered:
        case server::auth_outcome::kind::needs_tls:  // RFC 5034 has no reply of its own for it
            err(replies::mechanism_unavailable(printable(exchange.mechanism)));
            co_return next::go_on;
        case server::auth_outcome::kind::failure:
            break;
    }
    co_return co_await login_failed(exchange.mechanism, exchange.attempted);
}

asio::awaitable<next> dialogue::login(command cmd, state issued_in, const plugin::auth_result& result,
                                      std::string_view attempted) {
    if (result.status == auth_status::tempfail) {
        spdlog::warn("{} login of {}: authentication backend could not decide: {}", s_.log_prefix(), attempted,
                     result.message);
        err(plugin::pop3_text(plugin::as_temporary(result.tempfail_reply), "SYS/TEMP", replies::auth_tempfail));
        co_return next::go_on;
    }
    if (result.status != auth_status::ok) {
        // AUTH comes here only with a success or a backend that could not decide: a failed exchange is
        // login_failed() at once, with the mechanism's name.
        const std::string_view mechanism = cmd == command::apop ? "APOP" : cmd == command::pass ? "USER" : "AUTH";
        co_return co_await login_failed(mechanism, attempted);
    }
    const std::string& user = result.user;
    if (env_.penalty) {
        env_.penalty->succeeded(s_.info().peer.address, user);
    }
    if (const auto v = co_await hook(plugin::pop3_event::login, user, user); !v.ok()) {
        err(plugin::pop3_text(v, v.temporary() ? replies::temp_code : replies::auth_code, replies::login_refused));
        co_return next::go_on;
    }
    auto opened = co_await env_.store->open(user);
    switch (opened.status) {
        case store_status::ok:
            break;
        case store_status::in_use:
            // RFC 2449 8.1.1: the maildrop is locked by another session; trying again later may work.
            err(replies::in_use);
            co_return next::go_on;
        case store_status::tempfail:
            err(replies::drop_tempfail);
            co_return next::go_on;
        case store_status::not_found:
        case store_status::permfail:
            spdlog::error("{} maildrop of {} cannot be opened", s_.log_prefix(), user);
            err(replies::drop_permfail);
            co_return next::go_on;
    }
    if (options_.login_delay.count() > 0 && !svc_.logins().try_login(user, options_.login_delay)) {
        err(replies::login_delay(options_.login_delay));
        co_return next::go_on;  // the maildrop is released here, unchanged
    }
    drop_ = std::move(opened.drop);
    authenticated_ = user;
    state_ = after(cmd, issued_in);
    const auto [count, octets] = totals();
    spdlog::info("{} logged in as {}: {} messages, {} octets", s_.log_prefix(), user, count, octets);
    ok(replies::logged_in(printable(user, 255), count, octets));
    co_return next::go_on;
}

asio::awaitable<next> dialogue::login_failed(std::string_view mechanism, std::string_view attempted) {
    const server::auth_settings settings = auth_settings();
    const bool last = co_await server::failed_login(auth_failures_, settings, s_, mechanism, attempted);
    if (last) {
        err(replies::auth_failed_closing);
        co_return next::close;
    }
    err(replies::auth_failed);
    co_return next::go_on;
}

asio::awaitable<next> dialogue::on_stls() {
    const server::tls_upgrade upgrade = co_await server::upgrade_to_tls(s_, replies::stls_ready);
    switch (upgrade) {
        case server::tls_upgrade::already_active:
            err(replies::tls_already_active);
            co_return next::go_on;
        case server::tls_upgrade::not_available:
            err(replies::stls_unavailable);
            co_return next::go_on;
        case server::tls_upgrade::failed:
            co_return next::close;
        case server::tls_upgrade::started:
            break;
    }
    // RFC 2595 4: everything learned before the handshake is forgotten; the client asks CAPA again.
    state_ = after(command::stls, state_);
    user_.clear();
    utf8_ = false;
    co_return next::go_on;
}

void dialogue::on_capa() {
    std::string text = fmt::format("+OK {}\r\n", replies::capa_follows);
    const bool authorization = state_ != state::transaction;
    text += "TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n";
    if (authorization) {
        if (plaintext_allowed()) {
            text += "USER\r\n";
        }
        if (const auto offered = mechanisms(); !offered.empty()) {
            text += fmt::format("SASL {}\r\n", fmt::join(offered, " "));
        }
        if (s_.can_start_tls()) {
            text += "STLS\r\n";
        }
        text += "UTF8\r\n";
    }
    if (!options_.expire.empty()) {
        text += fmt::format("EXPIRE {}\r\n", options_.expire);
    }
    if (options_.login_delay.count() > 0) {
        text += fmt::format("LOGIN-DELAY {}\r\n", options_.login_delay.count());
    }
    if (!options_.implementation.empty()) {
        text += fmt::format("IMPLEMENTATION {}\r\n", options_.implementation);
    }
    s_.reply(text + ".\r\n");
}

asio::awaitable<plugin::reply> dialogue::hook(plugin::pop3_event event, std::string_view argument,
                                              std::string_view user) {
    if (!env_.hooks) {
        co_return plugin::reply::accept();
    }
    const plugin::event_context context{.peer_address = s_.info().peer.address,
                                        .user = user,
                                        .argument = argument,
                                        .session = s_.info().id,
                                        .service = "pop3",
                                        .server_name = options_.hostname,
                                        .tls = s_.tls_active() ? &s_.tls_channel() : nullptr};
    co_return co_await env_.hooks(event, context);
}

}  // namespace detail

bool login_times::try_login(std::string_view user, std::chrono::seconds delay) {
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mutex_);
    if (last_.size() > 100'000) {
        // Bounded: entries older than the delay decide nothing any more.
        std::erase_if(last_, [&](const auto& entry) { return now - entry.second >= delay; });
    }
    auto [it, fresh] = last_.try_emplace(std::string(user), now);
    if (!fresh) {
        if (now - it->second < delay) {
            return false;
        }
        it->second = now;
    }
    return true;
}

service::service(options o, environment env) : options_(std::move(o)), env_(std::move(env)) {
    if (env_.auth == nullptr || !env_.store) {
        throw std::invalid_argument("the POP3 service needs an auth backend and a mailstore");
    }
    if (!env_.logins) {
        env_.logins = std::make_shared<login_times>();
    }
}

// Not a coroutine: the dialogue's own, whose frame holds the dialogue (one frame fewer per session).
asio::awaitable<void> service::serve(server::session& s) { return detail::dialogue::run(*this, s); }

std::string service::refusal_line(server::refusal why) const {
    return fmt::format("{}\r\n", why == server::refusal::too_many_connections ? replies::too_many_connections
                                                                              : replies::too_many_from_address);
}

// Out of line, like every accessor of a framework class: code built against the SDK never compiles in the
// layout (docs/plugins.md, "ABI rules").
const options& service::settings() const noexcept { return options_; }
const environment& service::env() const noexcept { return env_; }
login_times& service::logins() noexcept { return *env_.logins; }

}  // namespace mailwright::pop3
