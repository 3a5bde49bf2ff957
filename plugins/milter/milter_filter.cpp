// The milter filter: the conversation with each milter, step by step, and what its answers make of the
// message.
#include "milter_filter.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace mailwright::milter {

namespace {

// The header value as a milter is given it: without the leading white space unless it asked for it
// (SMFIP_HDR_LEADSPC), without the last line end, the folds with LF alone (as Sendmail and Postfix send them).
std::string value_for(std::string_view rest, bool leading_space) {
    while (!rest.empty() && (rest.back() == '\n' || rest.back() == '\r')) {
        rest.remove_suffix(1);
    }
    if (!leading_space) {
        while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) {
            rest.remove_prefix(1);
        }
    }
    std::string out;
    out.reserve(rest.size());
    for (std::size_t i = 0; i < rest.size(); ++i) {
        if (rest[i] != '\r' || i + 1 >= rest.size() || rest[i + 1] != '\n') {
            out.push_back(rest[i]);
        }
    }
    return out;
}

// An answer for all recipients from their own: the first temporary refusal, else the first.
plugin::reply all_refused(const std::vector<plugin::reply>& answers) {
    const auto temporary = std::find_if(answers.begin(), answers.end(), [](const auto& r) { return r.temporary(); });
    return temporary != answers.end() ? *temporary : answers.front();
}

}  // namespace

plugin::reply refusal_of(const answer& a) {
    const bool temporary = a.what == answer::kind::tempfail;
    if (a.reply) {
        std::string enhanced = a.reply->enhanced.empty() ? (temporary ? "4.7.1" : "5.7.1") : a.reply->enhanced;
        std::string text = a.reply->text.empty() ? (temporary ? "try again later" : "Command rejected") : a.reply->text;
        return plugin::reply::smtp(a.reply->code, std::move(enhanced), std::move(text));
    }
    return temporary ? plugin::reply::smtp(451, "4.7.1", "Service unavailable - try again later")
                     : plugin::reply::smtp(550, "5.7.1", "Command rejected");
}

milter_filter::milter_filter(std::vector<const milter_settings*> milters, message_facts facts)
    : facts_(std::move(facts)), recipients_(facts_.recipients.size(), plugin::reply::accept()) {
    for (const auto* m : milters) {
        peers_.push_back(peer{std::make_unique<conversation>(*m)});
    }
}

plugin::field_action milter_filter::header(const imf::header_field& field) {
    // A line without a colon has no name and value to tell a milter: it is kept and not shown.
    if (!field.malformed) {
        const auto colon = field.raw.find(':');
        fields_.push_back({std::string(field.name), std::string(field.raw.substr(colon + 1))});
    }
    return plugin::field_action::keep;
}

void milter_filter::log_decision(const peer& p, std::string_view what) const {
    spdlog::info("plugin=milter session={} message={} milter={} {}", facts_.session, facts_.id, p.talk->settings().name,
                 what);
}

void milter_filter::give_up(peer& p) {
    p.done = true;
    const auto& s = p.talk->settings();
    if (s.default_action == fallback::accept) {
        spdlog::warn(
            "plugin=milter session={} message={} milter={} {}; skipped for this message (default_action "
            "accept)",
            facts_.session, facts_.id, s.name, p.talk->why());
        return;
    }
    spdlog::warn(
        "plugin=milter session={} message={} milter={} {}; the message is refused for now "
        "(default_action tempfail)",
        facts_.session, facts_.id, s.name, p.talk->why());
    if (!refusal_) {
        refusal_ = plugin::reply::smtp(451, "4.7.1", "milter unavailable");
    }
}

bool milter_filter::settle(peer& p, const answer& a) {
    switch (a.what) {
        case answer::kind::go_on:
        case answer::kind::skip:
            return true;
        case answer::kind::accept:
            p.done = true;
            return false;
        case answer::kind::reject:
        case answer::kind::tempfail:
            refusal_ = refusal_of(a);
            log_decision(p, "refused the message: " + refusal_->text);
            p.done = true;
            return false;
        case answer::kind::discard:
            discard_ = true;
            log_decision(p, "discarded the message");
            p.done = true;
            return false;
        case answer::kind::broken:
            give_up(p);
            return false;
    }
    return false;
}

asio::awaitable<plugin::reply> milter_filter::headers_done(plugin::header_changes& /*changes*/) {
    co_await start();
    co_return refusal_.value_or(plugin::reply::accept());
}

asio::awaitable<void> milter_filter::start() {
    started_ = true;
    for (auto& p : peers_) {
        if (decided()) {
            break;
        }
        const bool opened = co_await p.talk->open();
        if (!opened) {
            give_up(p);
            continue;
        }
        const auto& agreed = p.talk->agreed();
        if (agreed.dropped_actions != 0 || agreed.dropped_flags != 0) {
            spdlog::debug("plugin=milter milter={} asked for actions {:#x} and flags {:#x} we do not offer",
                          p.talk->settings().name, agreed.dropped_actions, agreed.dropped_flags);
        }
        co_await tell_envelope(p);
    }
    if (decided()) {
        co_await close_all();
    }
}

asio::awaitable<void> milter_filter::tell_envelope(peer& p) {
    auto& talk = *p.talk;
    const auto& agreed = talk.agreed();
    const auto with_macros = [&](stage s, char command, std::string packet) {
        const auto macros = macros_for(s, facts_, 0, agreed);
        return (macros.empty() ? std::string() : encode_macros(command, macros)) + packet;
    };
    struct one_step {
        step s;
        std::string packets;
    };
    const one_step before_rcpt[] = {
        {step::connect,
         with_macros(stage::connect, command::connect, encode_connect(client_name(facts_), facts_.peer_address, 0))},
        {step::helo, with_macros(stage::helo, command::helo, encode_helo(facts_.helo))},
        {step::mail, with_macros(stage::mail, command::mail, encode_mail(facts_.sender))},
    };
    for (const auto& [s, packets] : before_rcpt) {
        if (!agreed.sends(s)) {
            continue;
        }
        const auto a = co_await talk.exchange(packets, s);
        if (!settle(p, a)) {
            co_return;
        }
    }
    const bool go_on = co_await tell_recipients(p);
    if (!go_on) {
        co_return;
    }
    const auto data = with_macros(stage::data, command::data, encode_bare(command::data));
    if (agreed.sends(step::data)) {
        const auto a = co_await talk.exchange(data, step::data);
        if (!settle(p, a)) {
            co_return;
        }
    }
    co_await tell_header(p);
}

asio::awaitable<bool> milter_filter::tell_recipients(peer& p) {
    auto& talk = *p.talk;
    const auto& agreed = talk.agreed();
    for (std::size_t i = 0; i < facts_.recipients.size() && agreed.sends(step::rcpt); ++i) {
        if (!recipients_[i].ok()) {
            continue;  // refused by a milter before: the others are not asked about it
        }
        const auto macros = macros_for(stage::rcpt, facts_, i, agreed);
        const auto packets = encode_macros(command::rcpt, macros) + encode_rcpt(facts_.recipients[i]);
        const auto a = co_await talk.exchange(packets, step::rcpt);
        if (a.what == answer::kind::reject || a.what == answer::kind::tempfail) {
            recipients_[i] = refusal_of(a);
            log_decision(p, "refused recipient " + facts_.recipients[i] + ": " + recipients_[i].text);
        } else if (a.what != answer::kind::accept && !settle(p, a)) {
            co_return false;  // accept at RCPT accepts the recipient: the milter still sees the message
        }
    }
    const bool none_left = !recipients_.empty() &&
                           std::none_of(recipients_.begin(), recipients_.end(), [](const auto& r) { return r.ok(); });
    if (none_left) {
        refusal_ = all_refused(recipients_);
        p.done = true;
        co_return false;
    }
    co_return true;
}

asio::awaitable<void> milter_filter::tell_header(peer& p) {
    auto& talk = *p.talk;
    const auto& agreed = talk.agreed();
    const bool leading = (agreed.flags & flag::header_leading_space) != 0;
    if (agreed.sends(step::header)) {
        std::string batch;  // fields no answer follows go out together
        for (const auto& f : fields_) {
            const auto packet = encode_header(f.name, value_for(f.rest, leading));
            if (!agreed.replies(step::header)) {
                batch += packet;
                continue;
            }
            const auto a = co_await talk.exchange(packet, step::header);
            if (!settle(p, a)) {
                co_return;
            }
        }
        if (!batch.empty()) {
            const auto a = co_await talk.exchange(batch, step::header);
            if (!settle(p, a)) {
                co_return;
            }
        }
    }
    if (agreed.sends(step::eoh)) {
        const auto macros = macros_for(stage::eoh, facts_, 0, agreed);
        const auto packets = encode_macros(command::eoh, macros) + encode_bare(command::eoh);
        const auto a = co_await talk.exchange(packets, step::eoh);
        settle(p, a);
    }
}

asio::awaitable<void> milter_filter::body(std::span<const char> piece) {
    if (!started_) {
        co_await start();
    }
    const std::string_view all(piece.data(), piece.size());
    for (auto& p : peers_) {
        if (decided()) {
            break;
        }
        if (p.done || p.skip_body || !p.talk->agreed().sends(step::body)) {
            continue;
        }
        for (std::size_t at = 0; at < all.size() && !p.done && !p.skip_body; at += max_body_chunk) {
            const auto packet = encode_body(all.substr(at, max_body_chunk));
            const auto a = co_await p.talk->exchange(packet, step::body);
            p.skip_body = a.what == answer::kind::skip;
            settle(p, a);
        }
    }
    if (decided()) {
        co_await close_all();
    }
}

asio::awaitable<plugin::filter_verdict> milter_filter::end() {
    if (!started_) {
        co_await start();
    }
    for (auto& p : peers_) {
        if (decided()) {
            break;
        }
        if (!p.done) {
            co_await finish(p);
        }
    }
    co_await close_all();
    if (refusal_) {
        co_return plugin::filter_verdict::refuse(*refusal_);
    }
    if (discard_) {
        co_return plugin::filter_verdict::drop();
    }
    auto verdict = plugin::filter_verdict::accept();
    if (std::any_of(recipients_.begin(), recipients_.end(), [](const auto& r) { return !r.ok(); })) {
        verdict = plugin::filter_verdict::per_recipient(recipients_);
    }
    verdict.edits = std::move(edits_);
    verdict.new_body = std::move(new_body_);
    co_return verdict;
}

asio::awaitable<void> milter_filter::close_all() {
    for (auto& p : peers_) {
        co_await p.talk->quit();
        p.done = true;
    }
}

}  // namespace mailwright::milter
