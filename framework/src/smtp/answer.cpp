// The reply to a message once it was read (RFC 5321 4.2.5, RFC 2033 4.2): one line for SMTP, one per
// recipient for LMTP, from the limits a message broke, a hook's refusal, or what the message pipeline and
// the store said; the message's log line and its count in the metrics.
#include <fmt/format.h>

#include <algorithm>

#include "dialogue.hpp"
#include "mailwright/metrics/instruments.hpp"
#include "plugin/reply_text.hpp"
#include "replies.hpp"

namespace mailwright::smtp::detail {

namespace {
// The service a message is counted under (metrics::count_message).
std::string_view counted_as(role kind) {
    return kind == role::lmtp ? "lmtp" : kind == role::submission ? "submission" : "smtp";
}

// An LMTP message, answered per recipient, counts as accepted when a recipient has it, else as tempfailed
// when one may have it on a retry.
metrics::message_outcome lmtp_outcome(const std::vector<plugin::reply>& answers) {
    if (std::any_of(answers.begin(), answers.end(), [](const auto& r) { return r.ok(); })) {
        return metrics::message_outcome::accepted;
    }
    return std::any_of(answers.begin(), answers.end(), [](const auto& r) { return r.temporary(); })
               ? metrics::message_outcome::tempfailed
               : metrics::message_outcome::refused;
}
}  // namespace

next dialogue::answer_message(const transaction& done, refusal problem, const plugin::reply* refused_by_hook,
                              const std::vector<plugin::reply>& answers, std::uint64_t octets) {
    const std::size_t recipients = done.envelope.recipients.size();
    const bool lmtp = options_.kind == role::lmtp;
    std::vector<std::string_view> to;
    for (const auto& r : done.envelope.recipients) {
        to.push_back(r.address);
    }
    // One line for the whole message; LMTP says it once per accepted recipient (RFC 2033 4.2). One log line.
    auto answer = [&](std::string_view text) -> next {
        if (text.front() == '4' || text.front() == '5') {
            log_refusal("message", text, &done.envelope, to);
        }
        for (std::size_t i = 0; lmtp && i + 1 < recipients; ++i) {
            reply(text);
        }
        metrics::count_message(counted_as(options_.kind), metrics::outcome_of_reply(text), octets);
        return text.front() == '5' ? error(text) : (reply(text), next::go_on);
    };
    switch (problem) {
        case refusal::too_big:
            return answer(replies::message_too_big);
        case refusal::bare_line_end:
            return answer(replies::bare_line_end);
        case refusal::line_too_long:
            return answer(replies::text_line_too_long(options_.max_text_line));
        case refusal::nul:
            return answer(replies::nul_in_text);
        case refusal::interrupted:
        case refusal::lost:
        case refusal::none:
            break;
    }
    const std::string& id = done.envelope.id;
    if (refused_by_hook != nullptr) {
        return answer(plugin::smtp_line(*refused_by_hook, refused_by_hook->temporary() ? replies::policy_refused_temp
                                                                                       : replies::policy_refused_perm));
    }
    if (lmtp) {
        // LMTP answers each recipient by its own outcome (RFC 2033 4.2): a recipient delivered must hear 250,
        // or the client sends the message again.
        metrics::count_message(counted_as(options_.kind), lmtp_outcome(answers), octets);
        const std::string stored = replies::lmtp_stored(id, octets);
        std::vector<std::string_view> delivered;
        for (std::size_t i = 0; i < answers.size(); ++i) {
            const auto& r = answers[i];
            const std::string line = plugin::smtp_line(r, r.ok()          ? replies::lmtp_delivered(stored)
                                                          : r.temporary() ? replies::mailbox_temp
                                                                          : replies::mailbox_perm);
            const std::string_view address = i < to.size() ? to[i] : std::string_view();
            if (r.ok()) {
                delivered.push_back(address);
            } else {
                log_refusal("message", line, &done.envelope, std::span(&address, 1));
            }
            reply(line);
        }
        if (!delivered.empty()) {
            log_accepted(done.envelope, octets, delivered);  // the recipients that have it, and only they
        }
        return next::go_on;
    }
    // SMTP has one reply for all: success only when every mailbox has the message; otherwise a temporary
    // failure if any (the client tries again), else the first refusal.
    const auto& all = answers;
    const auto failed = std::find_if(all.begin(), all.end(), [](const auto& r) { return r.temporary(); });
    const auto refused = std::find_if(all.begin(), all.end(), [](const auto& r) { return r.permanent(); });
    if (failed != all.end()) {
        return answer(plugin::smtp_line(*failed, replies::not_stored));
    }
    if (refused != all.end()) {
        return answer(plugin::smtp_line(*refused, replies::message_refused));
    }
    log_accepted(done.envelope, octets, to);
    return answer(replies::stored(id));
}

}  // namespace mailwright::smtp::detail
