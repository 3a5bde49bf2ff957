// MAIL and RCPT (RFC 5321 4.1.1.2-3, RFC 6409 6.1, RFC 1870, RFC 3461, RFC 6531): the sender, its parameters
// and, on submission, its ownership; each recipient's mailbox, the postmaster rule (RFC 5321 4.5.1) and one
// copy per mailbox. Part of the SMTP dialogue (dialogue.hpp).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <span>

#include "dialogue.hpp"
#include "mailwright/smtp/parameters.hpp"
#include "replies.hpp"

namespace mailwright::smtp::detail {

dialogue::local_recipient dialogue::local_user(const mailbox& box) const {
    if (box.domain.empty() || (is_local_domain(box.domain) && iequals(box.local, "postmaster"))) {
        // <Postmaster>, and postmaster in any case in every local domain (RFC 5321 4.5.1): the configured user.
        return {options_.postmaster, true, false, {}};
    }
    if (!is_local_domain(box.domain) && may_relay()) {
        return {box.to_string(), false, true, {}};
    }
    if (!is_local_domain(box.domain)) {
        return {{},
                false,
                false,
                options_.kind == role::submission ? replies::not_our_domains(box.to_string())
                                                  : replies::relay_denied(box.to_string())};
    }
    if (box.local.front() == '"') {
        return {{}, false, false, replies::recipient_rejected(box.to_string())};
    }
    return {box.local, false, false, {}};
}

bool dialogue::may_relay() const noexcept {
    return options_.relay == relay_policy::authenticated && !user_.empty() && env_.store &&
           env_.store->delivers_remote();
}

bool dialogue::is_local_domain(std::string_view domain) const {
    if (options_.local_domains.empty()) {
        return iequals(domain, options_.hostname);
    }
    return std::any_of(options_.local_domains.begin(), options_.local_domains.end(),
                       [&](const std::string& d) { return iequals(d, domain); });
}

asio::awaitable<next> dialogue::on_mail(const command& c) {
    if (options_.kind == role::submission && user_.empty()) {
        co_return error(replies::auth_required);  // RFC 6409 4.3
    }
    const auto m = parse_mail(c.argument);
    if (m.error == errc::needs_utf8) {
        co_return error(replies::needs_smtputf8);
    }
    if (m.error == errc::bad_parameter) {
        co_return error(replies::invalid_parameters);
    }
    if (m.error) {
        co_return error(replies::bad_sender);
    }
    if (!extended_ && !m.parameters.empty()) {
        co_return error(replies::parameters_need_ehlo);  // no extension was announced after HELO
    }
    transaction t;
    t.sender = m.box;
    t.envelope.sender = m.box ? m.box->to_string() : "";
    t.envelope.one_reply = options_.kind != role::lmtp;
    const auto params = read_mail_parameters(m.parameters, env_.store->keeps_binary());
    if (params.error == parameter_error::bad_size) {
        co_return error(replies::invalid_size);
    }
    if (params.error != parameter_error::none) {
        co_return error(replies::bad_parameter);
    }
    if (params.size && *params.size > options_.max_message_size) {
        co_return error(replies::message_too_big);  // RFC 1870 6.2
    }
    if (!params.body.empty()) {
        t.envelope.body = params.body;
    }
    t.envelope.smtputf8 = params.smtputf8;
    t.envelope.ret = params.ret;
    t.envelope.envid = params.envid;
    if (options_.kind == role::submission && !t.sender && !options_.allow_null_sender) {
        // RFC 6409 6.1 asks the submitter to own the sender; <> names none, and users do not send bounces.
        co_return error(replies::null_sender_refused);
    }
    if (options_.kind == role::submission && t.sender) {
        // RFC 6409 6.1: the submitter may use its own address in the local domains, or one the auth backend
        // lets it act as.
        const std::string address = t.sender->to_string();
        bool may = is_local_domain(t.sender->domain) && t.sender->local == user_;
        if (!may) {
            if (plugin::authorizer* a = env_.auth->authorization()) {
                may = co_await a->may_act_as(user_, address);
            }
        }
        if (!may) {
            co_return error(replies::sender_not_owned(address, user_));
        }
    }
    {
        const std::string address = t.sender ? t.sender->to_string() : "";
        const auto v = co_await hook(plugin::smtp_phase::mail, address);
        if (refused(v)) {
            co_return next::go_on;
        }
    }
    t.envelope.id = message_id();
    t.envelope.authenticated_user = user_;
    txn_ = std::move(t);
    state_ = after(verb::mail, state_);
    reply(replies::sender_ok);
    co_return next::go_on;
}

// The users a local recipient stands for: the hooks' resolution (aliases), else the local part, each known to
// the auth backend. When the recipient is refused, none, and what the reply said.
asio::awaitable<dialogue::recipient_users> dialogue::users_of(const mailbox& box) {
    const auto local = local_user(box);
    if (local.user.empty()) {
        co_return recipient_users{{}, error(local.refusal)};
    }
    std::vector<std::string> users{local.user};
    const bool postmaster = local.postmaster;  // an unknown user is then the configuration's fault: 451
    // A relayed recipient is not ours to resolve or look up: the next hop decides, and the client hears it.
    if (env_.resolve && !local.remote) {
        const std::string address = box.to_string();
        const std::string_view local_part = box.domain.empty() ? std::string_view("postmaster") : box.local;
        const auto context = event(address, &txn_.envelope);
        auto resolved = co_await env_.resolve(local_part, box.domain, context);
        if (!resolved.answer.ok() && local.postmaster) {
            // RFC 5321 4.5.1: postmaster must work whatever a map says; the listener's postmaster user gets it.
            spdlog::error("{} a hook refused <{}>: {}; delivering to the postmaster user \"{}\" instead",
                          s_.log_prefix(), address, resolved.answer.text, local.user);
            resolved = plugin::resolution::not_mine();
        }
        if (!resolved.answer.ok()) {
            const auto& a = resolved.answer;
            const std::string words = replies::user_unknown(address);
            const std::string line = plugin::smtp_line(
                a, a.temporary() ? plugin::smtp_words{450, "4.3.0", words} : plugin::smtp_words{550, "5.1.1", words});
            co_return recipient_users{{}, a.temporary() ? (reply(line), next::go_on) : error(line)};
        }
        if (!resolved.users.empty()) {
            users = std::move(resolved.users);
        }
    }
    if (users_in_transaction() + users.size() > options_.max_recipients) {
        // Every mailbox an alias names counts: a big alias given again and again must not cost without bound.
        reply(replies::too_many_recipients);
        co_return recipient_users{{}, next::go_on};
    }
    for (auto& user : local.remote ? std::span<std::string>() : std::span<std::string>(users)) {
        auto known = co_await known_user(box, user, postmaster);
        if (known.refused) {
            co_return recipient_users{{}, known.refused};
        }
        user = std::move(known.users.front());
    }
    co_return recipient_users{std::move(users), std::nullopt};
}

// The mailbox name of `user` as the auth backend knows it; when it does not, none, and what the reply said.
asio::awaitable<dialogue::recipient_users> dialogue::known_user(const mailbox& box, const std::string& user,
                                                                bool postmaster) {
    const auto found = co_await env_.auth->lookup(user);
    if (found.status == auth_status::tempfail) {
        const std::string words = replies::cannot_verify_text(box.to_string());
        reply(plugin::smtp_line(plugin::as_temporary(found.tempfail_reply), {450, "4.3.0", words}));
        co_return recipient_users{{}, next::go_on};
    }
    if (found.status != auth_status::ok && postmaster) {
        // RFC 5321 4.5.1: this address must work. The configuration is wrong, not the address: a temporary
        // failure keeps the mail with the sender until the postmaster user exists.
        spdlog::error(
            "{} mail for <{}> refused for now: the postmaster user \"{}\" is unknown to the auth "
            "backend; create it, or name an existing user in [listener.smtp] postmaster",
            s_.log_prefix(), box.to_string(), user);
        reply(replies::postmaster_unavailable(box.to_string()));
        co_return recipient_users{{}, next::go_on};
    }
    if (found.status != auth_status::ok) {
        co_return recipient_users{{}, error(replies::user_unknown(box.to_string()))};
    }
    co_return recipient_users{{found.user.empty() ? user : found.user}, std::nullopt};
}

std::size_t dialogue::users_in_transaction() const noexcept {
    std::size_t n = 0;
    for (const auto& r : txn_.envelope.recipients) {
        n += r.users.size();
    }
    return n;
}

asio::awaitable<next> dialogue::on_rcpt(const command& c) {
    const auto r = parse_rcpt(c.argument, txn_.envelope.smtputf8);
    if (r.error == errc::needs_utf8) {
        co_return error(replies::needs_smtputf8);
    }
    if (r.error == errc::bad_parameter) {
        co_return error(replies::invalid_parameters);
    }
    if (r.error) {
        co_return error(replies::bad_recipient);
    }
    attempted_to_ = r.box->to_string();  // for the log line of a refusal (note_refusal)
    if (!extended_ && !r.parameters.empty()) {
        co_return error(replies::parameters_need_ehlo);
    }
    const auto params = read_rcpt_parameters(r.parameters);
    if (params.error != parameter_error::none) {
        co_return error(replies::bad_parameter);
    }
    plugin::envelope_recipient recipient;
    recipient.notify = params.notify;
    recipient.orcpt = params.orcpt;
    if (txn_.envelope.recipients.size() >= options_.max_recipients) {
        reply(replies::too_many_recipients);  // RFC 5321 4.5.3.1.8: the client sends the rest later
        co_return next::go_on;
    }
    const mailbox& box = *r.box;
    auto resolved = co_await users_of(box);
    if (resolved.refused) {
        co_return *resolved.refused;  // the reply said why
    }
    {
        const std::string address = box.to_string();
        const auto v = co_await hook(plugin::smtp_phase::rcpt, address, &txn_.envelope);
        if (refused(v)) {
            co_return next::go_on;
        }
    }
    recipient.address = box.to_string();
    for (const auto& user : resolved.users) {
        if (std::find(txn_.users.begin(), txn_.users.end(), user) == txn_.users.end()) {
            txn_.users.push_back(user);  // one copy per mailbox (RFC 5321 3.3 allows it)
        }
    }
    recipient.users = std::move(resolved.users);
    txn_.envelope.recipients.push_back(std::move(recipient));
    state_ = after(verb::rcpt, state_);
    reply(replies::recipient_ok);
    co_return next::go_on;
}

}  // namespace mailwright::smtp::detail
