// The SMTP/LMTP dialogue with one client (RFC 5321, 6409, 2033, 3207, 4954, 2920, 1870, 6152, 2034/3463, 6531,
// 3030, 3461): read a line, parse it (command.cpp), ask the state table (state.cpp), act through hooks, the auth
// chain and the mailstore, reply with an enhanced status code. This file has the loop, the greetings,
// STARTTLS, AUTH, DATA and BDAT; the replies to a message are in answer.cpp, MAIL and RCPT in envelope.cpp,
// XCLIENT in xclient_step.cpp, and the class they share in dialogue.hpp. What it does as POP3 does (what a read means,
// the AUTH exchange and the count of failures, STARTTLS's checks and handshake) is in server/dialogue_steps and
// server/sasl_exchange; this file says SMTP's replies (their texts are in replies.hpp) and keeps SMTP's state.
//
// A message streams: the mailstore pulls it through `incoming` (incoming.cpp), which reads the client's
// octets, ends the data where data_reader says (DATA) or where the chunk sizes say (BDAT), and refuses a
// message that breaks a limit mid-way by failing the read, so the store keeps nothing of it. The rest of the
// message is then read and dropped, and the reply tells why.
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <stdexcept>

#include "dialogue.hpp"
#include "mailwright/metrics/instruments.hpp"
#include "mailwright/server/dialogue_steps.hpp"
#include "mailwright/server/sasl_exchange.hpp"
#include "mailwright/server/session.hpp"
#include "mailwright/smtp/command.hpp"
#include "mailwright/smtp/parameters.hpp"
#include "mailwright/smtp/service.hpp"
#include "mailwright/smtp/state.hpp"
#include "plugin/reply_text.hpp"
#include "replies.hpp"
#include "trace_name.hpp"

namespace mailwright::smtp {

namespace detail {

std::string message_id() {
    static std::atomic<std::uint64_t> counter{0};
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    return fmt::format("{:x}{:05x}", std::chrono::duration_cast<std::chrono::seconds>(now).count(),
                       counter.fetch_add(1, std::memory_order_relaxed) & 0xfffff);
}

// --- the dialogue -------------------------------------------------------------------------------------------

next dialogue::error(std::string_view text) {
    reply(text);
    if (++errors_ >= options_.max_errors) {
        refusing_.reset();  // the closing is no refusal of the command: "closed after N errors" says it
        reply(replies::too_many_errors);
        spdlog::info("{} closed after {} errors", s_.log_prefix(), errors_);
        return next::close;
    }
    return next::go_on;
}

asio::awaitable<void> dialogue::run(service& svc, server::session& s) {
    dialogue d(svc, s);
    if (d.options_.pregreet_wait.count() > 0 && !s.tls_active()) {
        const bool early = co_await s.talks_within(d.options_.pregreet_wait);
        if (early) {
            // RFC 5321 4.3.1: the client waits for the greeting. One that does not is a spam engine, or an
            // attempt to desynchronise the dialogue (Postfix postscreen's pregreet test).
            spdlog::info("{} talked before the greeting", s.log_prefix());
            d.reply(replies::pregreet(d.options_.hostname));
            co_return;
        }
    }
    const bool greeted = co_await d.greet();
    if (!greeted) {
        co_return;
    }
    for (;;) {
        s.set_state(name(d.state_));  // what the administrator sees (mailwrightctl sessions)
        s.set_user(d.user_);
        d.refusing_.reset();
        d.attempted_to_.clear();
        const auto r = co_await s.read_line();
        const server::read_step read = server::interpret(s, r, replies::to_reads);
        if (read.what == server::read_step::kind::over) {
            co_return;
        }
        next n = next::go_on;
        if (read.what == server::read_step::kind::command) {
            n = co_await d.on_line(read.text);
        } else {
            n = d.error(read.text);
        }
        if (n == next::close) {
            co_return;
        }
    }
}

asio::awaitable<bool> dialogue::greet() {
    const auto v = co_await hook(plugin::smtp_phase::connect, s_.info().peer.address);
    if (!v.ok()) {
        reply(plugin::smtp_line(v, v.temporary() ? replies::service_refused_temp : replies::service_refused_perm));
        co_return false;
    }
    reply(replies::greeting(options_.hostname, options_.kind == role::lmtp));
    co_return true;
}

asio::awaitable<next> dialogue::on_line(std::string_view line) {
    if (line.size() + 2 > options_.max_command_line) {
        co_return error(replies::command_line_too_long);  // RFC 5321 4.5.3.1.4: refused, never cut and run
    }
    const command c = parse(line);
    // XCLIENT where no proxy is trusted (the default, and LMTP) is not there at all, as Postfix has it.
    if (c.error == errc::unknown_command || c.error == errc::empty_line ||
        (c.v == verb::xclient && options_.xclient_trusted.empty())) {
        co_return error(replies::unrecognized);
    }
    if (c.v == verb::mail || c.v == verb::rcpt || c.v == verb::data || c.v == verb::bdat) {
        refusing_ = c.v;  // its negative replies are logged (dialogue_log.cpp)
    }
    const bool lmtp = options_.kind == role::lmtp;
    if ((lmtp && (c.v == verb::ehlo || c.v == verb::helo)) || (!lmtp && c.v == verb::lhlo)) {
        co_return error(lmtp ? replies::say_lhlo : replies::lhlo_is_for_lmtp);
    }
    // RFC 2920 3.1: anything the client sent after a command that ends a group, before our reply, is not
    // allowed, nor is any pipelining after HELO, which does not announce it (Postfix 3.9 refuses both).
    const group_rule rule = group_rule_of(c.v);
    if (s_.input_buffered() && rule != group_rule::own &&
        (rule == group_rule::ends || (!extended_ && state_ != state::connected))) {
        spdlog::info("{} improper pipelining after {}", s_.log_prefix(), to_string(c.v));
        reply(replies::improper_pipelining);
        co_return next::close;
    }
    if (options_.require_tls && !s_.tls_active() && !allowed_before_tls(c.v)) {
        co_return co_await refuse(c, replies::tls_first);
    }
    if (c.v == verb::mail && state_ == state::connected && options_.implicit_helo_after_starttls &&
        !helo_before_tls_.empty()) {
        // An old client that skips the EHLO RFC 3207 4.2 asks for after STARTTLS: go on as after its HELO.
        spdlog::info(
            "{} MAIL after STARTTLS without a new EHLO: continuing as after HELO {} "
            "(implicit_helo_after_starttls)",
            s_.log_prefix(), helo_before_tls_);
        helo_ = std::exchange(helo_before_tls_, {});
        state_ = after(verb::helo, state_);
    }
    // Texts are named before the co_await: g++ 12 destroys a temporary inside a co_await expression twice
    // (docs/architecture.md); a std::string made there was freed twice.
    if (!allowed(c.v, state_)) {
        if (state_ == state::connected) {
            co_return co_await refuse(c, replies::send_hello_first);
        }
        const std::string text = replies::not_allowed(c.v, state_);
        co_return co_await refuse(c, text);
    }
    if (c.v == verb::bdat && !extended_) {
        co_return co_await refuse(c, replies::bdat_needs_ehlo);
    }
    if (c.error) {
        const std::string text = replies::syntax_error(c.v);
        co_return co_await refuse(c, text);
    }
    co_return co_await dispatch(c);
}

asio::awaitable<next> dialogue::refuse(const command& c, std::string_view text) {
    if (c.v != verb::bdat) {
        co_return error(text);
    }
    // RFC 3030 2: a refused BDAT's chunk is still read, or its octets would be taken for commands. A chunk of
    // unknown size cannot be skipped: then the dialogue is lost.
    const auto chunk = parse_bdat(c.argument.substr(0, c.argument.find(' ')));  // whatever follows the size
    if (!chunk) {
        reply(replies::bdat_syntax);
        co_return next::close;
    }
    std::uint64_t left = chunk->size;
    while (left > 0) {
        const auto r = co_await s_.read_raw();
        if (r.status != server::read_status::line) {
            co_return next::close;
        }
        const auto used = static_cast<std::size_t>(std::min<std::uint64_t>(left, r.line.size()));
        s_.consume_input(used);
        left -= used;
    }
    co_return error(text);
}

asio::awaitable<next> dialogue::dispatch(const command& c) {
    switch (c.v) {
        case verb::ehlo:
        case verb::helo:
        case verb::lhlo:
            co_return co_await on_hello(c);
        case verb::starttls:
            co_return co_await on_starttls();
        case verb::auth:
            co_return co_await on_auth(c);
        case verb::xclient:
            co_return co_await on_xclient(c);
        case verb::mail:
            co_return co_await on_mail(c);
        case verb::rcpt:
            co_return co_await on_rcpt(c);
        case verb::data:
            co_return co_await on_data();
        case verb::bdat:
            co_return co_await on_bdat(c);
        case verb::rset:
            txn_ = transaction{};
            state_ = after(verb::rset, state_);
            reply(replies::ok);
            co_return next::go_on;
        case verb::noop:
            reply(replies::ok);
            co_return next::go_on;
        case verb::quit:
            reply(replies::closing(options_.hostname));
            co_return next::close;
        case verb::vrfy:
            // RFC 5321 3.5.3: 252 neither confirms nor denies, so VRFY cannot enumerate users.
            reply(replies::vrfy);
            co_return next::go_on;
        case verb::expn:
            co_return error(replies::expn_unavailable);
        case verb::help:
            reply(replies::help);
            co_return next::go_on;
    }
    co_return error(replies::unrecognized);
}

asio::awaitable<next> dialogue::on_hello(const command& c) {
    // After XCLIENT HELO=, the name the proxy's client gave stands for the proxy's own (xclient_step.cpp).
    const std::string_view name =
        xclient_helo_ ? std::string_view(*xclient_helo_) : c.argument.substr(0, c.argument.find(' '));
    // Informational (RFC 5321 4.1.4): many clients send a bare host name or a literal; only text that could
    // corrupt the Received header is refused.
    if (!valid_utf8_text(name)) {
        co_return error(replies::invalid_domain);
    }
    {
        const auto v = co_await hook(plugin::smtp_phase::helo, name);
        if (refused(v)) {
            co_return next::go_on;
        }
    }
    helo_ = std::string(name);
    xclient_helo_.reset();
    helo_before_tls_.clear();
    txn_ = transaction{};
    state_ = after(c.v, state_);
    extended_ = c.v != verb::helo;
    if (!extended_) {
        reply(replies::helo(options_.hostname));
        co_return next::go_on;
    }
    // What is true now: STARTTLS only outside TLS, AUTH only as TLS allows and before authenticating.
    std::vector<std::string> lines{replies::ehlo(options_.hostname, helo_),
                                   "PIPELINING",
                                   fmt::format("SIZE {}", options_.max_message_size),
                                   "8BITMIME",
                                   "ENHANCEDSTATUSCODES",
                                   "SMTPUTF8",
                                   "CHUNKING",
                                   "DSN"};
    if (env_.store->keeps_binary()) {
        lines.emplace_back("BINARYMIME");  // only a store that keeps every octet can take binary bodies
    }
    if (s_.can_start_tls()) {
        lines.emplace_back("STARTTLS");
    }
    if (user_.empty() && (!options_.require_tls || s_.tls_active())) {
        if (const auto offered = mechanisms(); !offered.empty()) {
            lines.push_back(fmt::format("AUTH {}", fmt::join(offered, " ")));
        }
    }
    if (xclient_trusted()) {
        lines.emplace_back(xclient::advertised);  // only to whom may use it (Postfix: xclient_allowed)
    }
    std::string text;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        text += fmt::format("250{}{}\r\n", i + 1 == lines.size() ? ' ' : '-', lines[i]);
    }
    s_.reply(text);
    co_return next::go_on;
}

asio::awaitable<next> dialogue::on_starttls() {
    const server::tls_upgrade upgrade = co_await server::upgrade_to_tls(s_, replies::tls_ready);
    switch (upgrade) {
        case server::tls_upgrade::already_active:
            co_return error(replies::tls_already_active);
        case server::tls_upgrade::not_available:
            co_return error(replies::starttls_unavailable);
        case server::tls_upgrade::failed:
            co_return next::close;
        case server::tls_upgrade::started:
            break;
    }
    // RFC 3207 4.2: forget everything learned from the client: its name, its extensions, any transaction,
    // any authentication. It must EHLO again.
    state_ = after(verb::starttls, state_);
    extended_ = false;
    helo_before_tls_ = std::exchange(helo_, {});
    user_.clear();
    txn_ = transaction{};
    co_return next::go_on;
}

asio::awaitable<next> dialogue::on_auth(const command& c) {
    if (!user_.empty()) {
        co_return error(replies::already_authenticated);
    }
    if (!extended_) {
        co_return error(replies::send_ehlo_first);
    }
    const auto space = c.argument.find(' ');
    const server::auth_settings settings = auth_settings();
    const server::auth_request request{
        .mechanism = c.argument.substr(0, space),
        .initial_response = space == std::string_view::npos
                                ? std::nullopt
                                : std::optional<std::string_view>(c.argument.substr(space + 1)),
        .challenge_prefix = replies::auth_challenge_prefix};
    const server::auth_outcome exchange = co_await server::authenticate(s_, settings, request);
    switch (exchange.what) {
        case server::auth_outcome::kind::success:
            user_ = exchange.user;
            if (env_.penalty) {
                env_.penalty->succeeded(s_.info().peer.address, user_);
            }
            spdlog::info("{} authenticated as {} with {}", s_.log_prefix(), user_, exchange.mechanism);
            reply(replies::auth_succeeded);
            co_return next::go_on;
        case server::auth_outcome::kind::tempfail:
            spdlog::warn("{} AUTH {}: {}", s_.log_prefix(), exchange.mechanism, exchange.reason);
            reply(plugin::smtp_line(plugin::as_temporary(exchange.tempfail_reply), replies::auth_tempfail));
            co_return next::go_on;
        case server::auth_outcome::kind::cancelled:
            co_return error(replies::auth_cancelled);
        case server::auth_outcome::kind::ended:
            server::say_goodbye(s_, exchange.ended_by, replies::to_reads);
            co_return next::close;
        case server::auth_outcome::kind::not_offered:
            co_return error(replies::auth_unrecognized);
        case server::auth_outcome::kind::needs_tls:
            co_return error(replies::auth_needs_tls);
        case server::auth_outcome::kind::failure:
            break;
    }
    co_return co_await auth_failed(exchange.mechanism, exchange.attempted);
}

asio::awaitable<next> dialogue::auth_failed(std::string_view mechanism, std::string_view attempted) {
    const server::auth_settings settings = auth_settings();
    const bool last = co_await server::failed_login(auth_failures_, settings, s_, mechanism, attempted);
    reply(replies::auth_failed);
    if (last) {
        reply(replies::too_many_auth_failures);
        co_return next::close;
    }
    co_return next::go_on;
}

std::string dialogue::trace_headers() const {
    const auto& e = txn_.envelope;
    // RFC 5321 4.4: delivery into the mailbox is final delivery, which records the reverse-path first. A store
    // that hands the message on is not (the next hop's final delivery adds it; a relay must not).
    std::string trace = env_.store->delivers_remote() ? "" : fmt::format("Return-Path: <{}>\r\n", e.sender);
    // RFC 5321 4.4 and RFC 3848: the protocol says whether EHLO, TLS and AUTH were used.
    // XCLIENT PROTO= says what the proxy's client spoke, whatever the proxy speaks to us.
    const bool extended = xclient_esmtp_.value_or(extended_);
    std::string with = options_.kind == role::lmtp ? "LMTP" : e.smtputf8 ? "UTF8SMTP" : extended ? "ESMTP" : "SMTP";
    if (options_.kind != role::lmtp && extended) {
        with += s_.tls_active() ? "S" : "";
        with += user_.empty() ? "" : "A";
    }
    // "for" names one recipient; with several it is left out, as it must hold a single path (RFC 5321 4.4).
    const std::string for_clause =
        e.recipients.size() == 1 ? fmt::format("\r\n\tfor <{}>", e.recipients.front().address) : "";
    const auto now = std::chrono::system_clock::now();
    // The client's name only as a domain or an address literal; anything else in a balanced ASCII comment.
    trace +=
        fmt::format("Received: from {}\r\n\tby {} (Mailwright) with {} id {}{}; {:%a, %d %b %Y %H:%M:%S +0000}\r\n",
                    received_from(helo_, s_.info().peer.address, client_name_), options_.hostname, with, e.id,
                    for_clause, fmt::gmtime(std::chrono::system_clock::to_time_t(now)));
    return trace;
}

asio::awaitable<next> dialogue::on_data() {
    if (txn_.envelope.body == "BINARYMIME") {
        // RFC 3030 3: a binary body cannot be framed by lines; only BDAT carries it. Nothing changes.
        co_return error(replies::binarymime_needs_bdat);
    }
    {
        const auto v = co_await hook(plugin::smtp_phase::data, "", &txn_.envelope);
        if (refused(v)) {
            co_return next::go_on;
        }
    }
    reply(replies::start_data);
    incoming message(*this, false, 0, false);
    co_return co_await receive(message);
}

asio::awaitable<next> dialogue::on_bdat(const command& c) {
    const auto chunk = parse_bdat(c.argument);
    if (!chunk) {
        // The chunk's size is unknown, so its octets cannot be skipped: the dialogue is lost (RFC 3030 2).
        reply(replies::bdat_syntax);
        co_return next::close;
    }
    incoming message(*this, true, chunk->size, chunk->last);
    state_ = after(verb::bdat, state_);  // a BDAT sequence, until the message ends
    co_return co_await receive(message);
}

// The queue hook, then the message read into the pipeline, then the store's answer. Whatever went wrong, the
// whole message is read (or the connection is lost) before the reply.
asio::awaitable<next> dialogue::receive(incoming& message) {
    s_.set_state("data");  // while the message is read; the loop shows the table's state again after it
    refusing_.reset();     // the message's outcome is logged by answer_message(), for the message as a whole
    const auto verdict = co_await hook(plugin::smtp_phase::queue, "", &txn_.envelope);
    std::optional<pipeline::message_pipeline> sink;
    if (verdict.ok()) {
        const auto context = event("", &txn_.envelope);
        auto filters = env_.filters ? env_.filters(context) : pipeline::filter_list{};
        sink.emplace(*env_.store, txn_.users, &txn_.envelope, std::move(filters));
        const std::string trace = trace_headers();
        co_await sink->begin(trace);
    }
    co_await message.read(sink ? &*sink : nullptr);
    const auto problem = message.problem();
    std::vector<plugin::reply> answers;
    if (problem == refusal::none && sink) {
        const auto heard =
            options_.kind == role::lmtp ? pipeline::answers::each_recipient : pipeline::answers::one_for_all;
        answers = co_await sink->finish(heard);
        if (sink->discarded()) {
            spdlog::info("{} message {} discarded by a filter", s_.log_prefix(), txn_.envelope.id);
        }
    }
    sink.reset();  // a message not finished is given up: the store keeps nothing of it
    if (problem == refusal::lost) {
        if (message.lost_by() == server::read_status::timeout) {
            reply(replies::data_timeout);
        } else if (message.lost_by() == server::read_status::stopping) {
            reply(replies::shutting_down);
        }
        co_return next::close;  // nothing acknowledged, so nothing the client can count on was stored
    }
    const transaction done = std::exchange(txn_, transaction{});
    state_ = after_message(state_);
    if (problem == refusal::interrupted) {
        // RSET or QUIT ended the sequence: the message is dropped and the command gets its own reply.
        const std::string interrupting = message.interrupting_line();
        co_return co_await on_line(interrupting);
    }
    co_return answer_message(done, problem, verdict.ok() ? nullptr : &verdict, answers, message.octets());
}

plugin::event_context dialogue::event(std::string_view argument, const plugin::envelope* envelope) const {
    return {.peer_address = s_.info().peer.address,
            .user = user_,
            .argument = argument,
            .envelope = envelope,
            .session = s_.info().id,
            .helo = helo_,
            .service = options_.kind == role::lmtp         ? "lmtp"
                       : options_.kind == role::submission ? "submission"
                                                           : "smtp",
            .server_name = options_.hostname,
            .tls = s_.tls_active() ? &s_.tls_channel() : nullptr};
}

asio::awaitable<plugin::reply> dialogue::hook(plugin::smtp_phase phase, std::string_view argument,
                                              const plugin::envelope* envelope) {
    if (!env_.hooks) {
        co_return plugin::reply::accept();
    }
    const plugin::event_context context = event(argument, envelope);
    co_return co_await env_.hooks(phase, context);
}

bool dialogue::refused(const plugin::reply& v) {
    if (v.ok()) {
        return false;
    }
    reply(plugin::smtp_line(v, v.temporary() ? replies::policy_refused_temp : replies::policy_refused_perm));
    return true;
}

}  // namespace detail

service::service(options o, environment env) : options_(std::move(o)), env_(std::move(env)) {
    if (env_.auth == nullptr || !env_.store) {
        throw std::invalid_argument("the SMTP service needs an auth backend and a mailstore");
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
std::string_view service::name() const { return options_.kind == role::lmtp ? "lmtp" : "smtp"; }
const options& service::settings() const noexcept { return options_; }
const environment& service::env() const noexcept { return env_; }

}  // namespace mailwright::smtp
