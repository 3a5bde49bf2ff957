// The milter filter at the end of the message: what each milter changes, and its last answer.
#include <spdlog/spdlog.h>

#include <mailwright/pipeline/message_pipeline.hpp>

#include "milter_filter.hpp"

namespace mailwright::milter {

namespace {

constexpr std::uint64_t max_replacement_body = std::uint64_t{64} << 20;

// A value as the pipeline writes it after "name: ": a milter that sees leading white space may send it back.
std::string stored_value(std::string value, bool leading_space) {
    if (leading_space && !value.empty() && value.front() == ' ') {
        value.erase(0, 1);
    }
    return value;
}

}  // namespace

asio::awaitable<bool> milter_filter::take_change(peer& p, const response& r, end_changes& changes) {
    auto& talk = *p.talk;
    // Bounded whatever the milter sends: the header block's own limit for its changes, and a body no bigger
    // than a message may be (what a next hop or a mailbox would take).
    changes.edit_octets += r.name.size() + r.value.size();
    changes.body_octets += r.code == response_code::replace_body ? r.data.size() : 0;
    if (changes.edit_octets > pipeline::max_header_block || changes.body_octets > max_replacement_body) {
        talk.fail("sent more changes than a message may hold");
        co_return false;
    }
    const auto& agreed = talk.agreed();
    const bool leading = (agreed.flags & flag::header_leading_space) != 0;
    namespace rc = response_code;
    using kind = plugin::field_edit::kind;
    switch (r.code) {
        case rc::add_header:
        case rc::insert_header:
            if (!agreed.allows(action::add_headers)) {
                break;
            }
            changes.edits.push_back({r.code == rc::add_header ? kind::append : kind::insert, r.name,
                                     stored_value(r.value, leading), r.index});
            co_return true;
        case rc::change_header:
            if (!agreed.allows(action::change_headers)) {
                break;
            }
            // The index counts the fields of that name from 1; libmilter reads 0 as 1.
            changes.edits.push_back({r.value.empty() ? kind::remove : kind::change, r.name,
                                     stored_value(r.value, leading), std::max<std::size_t>(r.index, 1)});
            co_return true;
        case rc::quarantine:
            if (!agreed.allows(action::quarantine)) {
                break;
            }
            changes.quarantined = true;
            changes.quarantine = r.value;
            co_return true;
        case rc::replace_body: {
            if (!agreed.allows(action::change_body)) {
                break;  // offered only with replace_body = true
            }
            if (!changes.body) {
                changes.body = std::make_unique<body_spool>();
            }
            const bool spooled = co_await changes.body->append(r.data);
            if (!spooled) {
                talk.fail("its replacement body could not be spooled to a temporary file");
                co_return false;
            }
            co_return true;
        }
        default:
            break;
    }
    // Recipients and the sender are never offered (SMFIF_ADDRCPT, DELRCPT, CHGFROM): asking is a breach.
    talk.fail(std::string("sent '") + r.code + "' at the end of the message, an action it was not offered");
    co_return false;
}

asio::awaitable<void> milter_filter::finish(peer& p) {
    auto& talk = *p.talk;
    const auto& agreed = talk.agreed();
    const auto macros = macros_for(stage::end_of_message, facts_, 0, agreed);
    const auto packets = encode_macros(command::end_of_body, macros) + encode_bare(command::end_of_body);
    const bool sent = co_await talk.send(packets);
    end_changes changes;
    std::optional<response> last;
    while (sent) {
        auto r = co_await talk.next(talk.settings().end_timeout);
        if (!r) {
            break;
        }
        namespace rc = response_code;
        const char c = r->code;
        if (c == rc::accept || c == rc::continue_ || c == rc::reject || c == rc::tempfail || c == rc::discard ||
            c == rc::reply_code || c == rc::connection_fail || c == rc::shutdown) {
            last = std::move(r);
            break;
        }
        const bool taken = co_await take_change(p, *r, changes);
        if (!taken) {
            break;
        }
    }
    if (!last) {
        if (!talk.broken()) {
            talk.fail("gave no answer to the end of the message");
        }
        give_up(p);
        co_return;
    }
    answer a;
    const char c = last->code;
    a.what = c == response_code::discard                                     ? answer::kind::discard
             : c == response_code::reject                                    ? answer::kind::reject
             : c == response_code::accept || c == response_code::continue_   ? answer::kind::accept
             : c == response_code::reply_code && last->reply.code / 100 == 5 ? answer::kind::reject
                                                                             : answer::kind::tempfail;
    if (c == response_code::reply_code) {
        a.reply = last->reply;
    }
    if (a.what == answer::kind::accept && changes.quarantined) {
        const auto reason = changes.quarantine.empty() ? std::string("no reason given") : changes.quarantine;
        refusal_ = plugin::reply::smtp(554, "5.7.1", "message quarantined: " + reason);
        log_decision(p, "quarantined the message (refused: no hold queue here): " + reason);
        p.done = true;
        co_return;
    }
    settle(p, a);
    if (a.what != answer::kind::accept) {
        co_return;
    }
    for (auto& e : changes.edits) {
        edits_.push_back(std::move(e));
    }
    if (changes.body) {
        new_body_ = co_await changes.body->reader();
        if (!new_body_) {
            spdlog::warn(
                "plugin=milter session={} message={} milter={} replaced the body, and it could not be "
                "read back; the message is refused for now",
                facts_.session, facts_.id, talk.settings().name);
            refusal_ = plugin::reply::smtp(451, "4.3.0", "replacement body lost, try again later");
        }
    }
}

}  // namespace mailwright::milter
