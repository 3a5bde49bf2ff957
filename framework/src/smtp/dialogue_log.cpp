// The lines an administrator reads about mail (docs/operations.md, "Logs"): each accepted message on one line,
// and each refusal of MAIL, RCPT, DATA, BDAT or the message with its reply code. Part of the SMTP dialogue
// (dialogue.hpp). Every field is key=value; what the server knows comes first and what the client chose (the
// addresses, the reply text that quotes them) last, so that nothing a client says can move a field before it:
//
//   session=4 peer=192.0.2.1:40000 message=6650f1a200001 accepted size=1234 tls=TLSv1.3 client=192.0.2.1
//       user=alice from=<alice@example.org> to=<bob@example.org> to=<carol@example.org>
//   session=5 peer=192.0.2.1:40002 refused RCPT code=550 enhanced=5.1.1 message=6650f1a200002 tls=none
//       client=192.0.2.1 from=<x@example.net> to=<nobody@example.org> reply=<nobody@example.org>: user unknown
//
// (each one line). tls= is the version or "none"; user= only after a login, message=, from= and to= only
// where there are some; enhanced= only when the reply has an enhanced status code (RFC 3463).
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "dialogue.hpp"

namespace mailwright::smtp::detail {

namespace {

// "550 5.1.1 words": the code, the enhanced code (empty when there is none) and the words.
struct reply_parts {
    std::string_view code;
    std::string_view enhanced;
    std::string_view words;
};

std::string_view next_word(std::string_view& text) {
    const auto space = text.find(' ');
    const std::string_view word = text.substr(0, space);
    text = space == std::string_view::npos ? std::string_view() : text.substr(space + 1);
    return word;
}

bool enhanced_code(std::string_view word) {
    // class.subject.detail (RFC 3463 2): "5.1.1", "4.7.0"
    const auto digits_or_dots =
        std::all_of(word.begin(), word.end(), [](char c) { return c == '.' || (c >= '0' && c <= '9'); });
    return word.size() >= 5 && (word[0] == '2' || word[0] == '4' || word[0] == '5') && word[1] == '.' &&
           std::count(word.begin(), word.end(), '.') == 2 && digits_or_dots;
}

reply_parts split_reply(std::string_view line) {
    line = line.substr(0, line.find('\r'));  // the first line of a multi-line reply
    reply_parts parts;
    parts.code = next_word(line).substr(0, 3);
    std::string_view rest = line;
    if (const auto word = next_word(rest); enhanced_code(word)) {
        parts.enhanced = word;
        line = rest;
    }
    parts.words = line;
    return parts;
}

}  // namespace

std::string dialogue::log_client() const {
    std::string out =
        fmt::format(" tls={} client={}", s_.tls_active() ? s_.tls_channel().version : "none", s_.info().peer.address);
    if (!user_.empty()) {
        out += fmt::format(" user={}", user_);
    }
    return out;
}

void dialogue::log_refusal(std::string_view what, std::string_view text, const plugin::envelope* e,
                           std::span<const std::string_view> to) const {
    const reply_parts parts = split_reply(text);
    std::string line = fmt::format("{} refused {} code={}", s_.log_prefix(), what, parts.code);
    if (!parts.enhanced.empty()) {
        line += fmt::format(" enhanced={}", parts.enhanced);
    }
    if (e != nullptr && !e->id.empty()) {
        line += fmt::format(" message={}", e->id);
    }
    line += log_client();
    if (e != nullptr && !e->id.empty()) {
        line += fmt::format(" from=<{}>", e->sender);
    }
    for (const auto address : to) {
        line += fmt::format(" to=<{}>", address);
    }
    line += fmt::format(" reply={}", parts.words);
    spdlog::info("{}", line);
}

void dialogue::note_refusal(std::string_view text) const {
    if (!refusing_ || text.empty() || (text.front() != '4' && text.front() != '5')) {
        return;
    }
    // MAIL has no transaction yet (one already open is not what the refused MAIL was about).
    const plugin::envelope* e = *refusing_ == verb::mail ? nullptr : &txn_.envelope;
    const std::string_view to = attempted_to_;
    log_refusal(to_string(*refusing_), text, e, to.empty() ? std::span<const std::string_view>() : std::span(&to, 1));
}

void dialogue::log_accepted(const plugin::envelope& e, std::uint64_t octets,
                            std::span<const std::string_view> to) const {
    std::string line = fmt::format("{} message={} accepted size={}{} from=<{}>", s_.log_prefix(), e.id, octets,
                                   log_client(), e.sender);
    for (const auto address : to) {
        line += fmt::format(" to=<{}>", address);
    }
    spdlog::info("{}", line);
}

}  // namespace mailwright::smtp::detail
