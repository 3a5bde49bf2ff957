// The SMTP/LMTP client's protocol pieces without I/O: replies, EHLO keywords, MAIL/RCPT lines, SCRAM.
#include "client_protocol.hpp"

#include <algorithm>
#include <cctype>

#include "mailwright/sasl/crypto.hpp"

namespace mailwright::smtp::client {

namespace {

std::string upper(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::toupper(c); });
    return out;
}

bool digit(char c) { return c >= '0' && c <= '9'; }

// The length of an RFC 3463 status code ("4.7.1", 1-3 digits per part after the class) at the start of
// `text`, followed by a space or the end; 0 when there is none.
std::size_t enhanced_code_length(std::string_view text) {
    if (text.size() < 5 || !digit(text[0]) || text[1] != '.') {
        return 0;
    }
    std::size_t at = 2;
    for (int part = 0; part < 2; ++part) {
        const std::size_t start = at;
        while (at < text.size() && digit(text[at]) && at - start < 4) {
            ++at;
        }
        if (at == start || at - start > 3) {
            return 0;
        }
        if (part == 0) {
            if (at >= text.size() || text[at] != '.') {
                return 0;
            }
            ++at;
        }
    }
    return at == text.size() || text[at] == ' ' ? at : 0;
}

}  // namespace

plugin::reply reply::to_plugin() const {
    return plugin::reply::smtp(code, enhanced, lines.empty() ? std::string() : lines.front());
}

std::string reply::to_string() const {
    std::string out = std::to_string(code);
    if (!enhanced.empty()) {
        out += ' ' + enhanced;
    }
    if (!lines.empty() && !lines.front().empty()) {
        out += ' ' + lines.front();
    }
    return out;
}

bool started::accepted() const noexcept {
    const bool some = std::any_of(recipients.begin(), recipients.end(), [](const reply& r) { return r.positive(); });
    return sender.positive() && some && (data.code == 0 || data.code == 354);
}

namespace detail {

reply_parser::status reply_parser::feed(std::string_view line) {
    // Reply-line (RFC 5321 4.2): a code of 2-5 then 0-5 then a digit, then "-" (more follows), " " text, or
    // nothing at all on the last line.
    const bool shaped = line.size() >= 3 && line[0] >= '2' && line[0] <= '5' && line[1] >= '0' && line[1] <= '5' &&
                        digit(line[2]) && (line.size() == 3 || line[3] == ' ' || line[3] == '-');
    if (!shaped) {
        error_ = "not a reply line";
        return status::malformed;
    }
    const auto code = static_cast<std::uint16_t>((line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0'));
    if (!reply_.lines.empty() && code != reply_.code) {
        error_ = "the code changed within a reply";
        return status::malformed;
    }
    if (reply_.lines.size() == max_reply_lines) {
        error_ = "a reply of more than " + std::to_string(max_reply_lines) + " lines";
        return status::malformed;
    }
    reply_.code = code;
    std::string_view text = line.size() > 4 ? line.substr(4) : std::string_view{};
    // RFC 3463: only success and failure replies carry status codes, and a code's class is the reply's.
    const char cls = line[0];
    if (enhanced_codes_ && cls != '3' && !text.empty() && text[0] == cls) {
        if (const auto n = enhanced_code_length(text); n > 0) {
            if (reply_.lines.empty()) {
                reply_.enhanced = std::string(text.substr(0, n));
            }
            text.remove_prefix(std::min(n + 1, text.size()));
        }
    }
    reply_.lines.emplace_back(text);
    return line.size() > 3 && line[3] == '-' ? status::more : status::done;
}

reply reply_parser::take() {
    reply out = std::move(reply_);
    reply_ = reply{};
    return out;
}

reply own_reply(std::uint16_t code, std::string enhanced, std::string text) {
    reply r;
    r.code = code;
    r.enhanced = std::move(enhanced);
    r.lines.push_back(std::move(text));
    return r;
}

std::string_view capabilities::parameters(std::string_view keyword) const {
    const auto it = keywords.find(keyword);
    return it == keywords.end() ? std::string_view{} : std::string_view(it->second);
}

bool capabilities::offers_mechanism(std::string_view mechanism) const {
    std::string_view rest = parameters("AUTH");
    const std::string wanted = upper(mechanism);
    while (!rest.empty()) {
        const auto space = rest.find(' ');
        if (upper(rest.substr(0, space)) == wanted) {
            return true;
        }
        rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space + 1);
    }
    return false;
}

capabilities parse_ehlo(const reply& r) {
    capabilities c;
    for (std::size_t i = 1; i < r.lines.size(); ++i) {
        std::string_view line = r.lines[i];
        const auto space = line.find(' ');
        const std::string keyword = upper(line.substr(0, space));
        if (keyword.empty()) {
            continue;
        }
        c.keywords[keyword] = space == std::string_view::npos ? std::string() : std::string(line.substr(space + 1));
    }
    return c;
}

namespace {

// Nothing that could end the command line or start another: no control characters at all.
bool safe_address(std::string_view s) {
    return std::none_of(s.begin(), s.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

// An esmtp-value (RFC 5321 4.1.2): printable ASCII without "=" and space.
bool safe_value(std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](unsigned char c) { return c > 0x20 && c < 0x7f && c != '='; });
}

}  // namespace

command_line mail_command(const transaction& t, const capabilities& c) {
    command_line out;
    if (!safe_address(t.sender)) {
        out.refusal = own_reply(553, "5.1.7", "the sender's address cannot be sent as it is");
        return out;
    }
    if (t.smtputf8 && !c.has("SMTPUTF8")) {
        out.refusal = own_reply(550, "5.6.7", "the next hop does not accept SMTPUTF8 (internationalised) mail");
        return out;
    }
    const std::string body = upper(t.body);
    if (body == "BINARYMIME" && !(c.has("BINARYMIME") && c.has("CHUNKING"))) {
        out.refusal = own_reply(554, "5.6.3", "the next hop does not accept binary (BINARYMIME) mail");
        return out;
    }
    out.line = "MAIL FROM:<" + t.sender + ">";
    if (t.size && c.has("SIZE")) {
        out.line += " SIZE=" + std::to_string(*t.size);
    }
    if ((body == "8BITMIME" && c.has("8BITMIME")) || body == "BINARYMIME") {
        out.line += " BODY=" + body;
    }
    if (t.smtputf8) {
        out.line += " SMTPUTF8";
    }
    if (c.has("DSN")) {
        if (safe_value(t.ret)) {
            out.line += " RET=" + t.ret;
        }
        if (safe_value(t.envid)) {
            out.line += " ENVID=" + t.envid;
        }
    }
    return out;
}

command_line rcpt_command(const transaction::recipient& r, const capabilities& c) {
    command_line out;
    if (r.address.empty() || !safe_address(r.address)) {
        out.refusal = own_reply(553, "5.1.3", "the recipient's address cannot be sent as it is");
        return out;
    }
    out.line = "RCPT TO:<" + r.address + ">";
    if (c.has("DSN")) {
        if (safe_value(r.notify)) {
            out.line += " NOTIFY=" + r.notify;
        }
        // ORCPT's value is "addr-type;xtext": its "=" are xtext's "+3D", so none may appear raw.
        if (safe_value(r.orcpt)) {
            out.line += " ORCPT=" + r.orcpt;
        }
    }
    return out;
}

}  // namespace detail

}  // namespace mailwright::smtp::client
