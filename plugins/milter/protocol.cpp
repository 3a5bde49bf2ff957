// The milter protocol's packets: encoding our commands, decoding and checking the milter's responses.
#include "protocol.hpp"

#include <algorithm>

namespace mailwright::milter {

namespace {

void put32(std::string& out, std::uint32_t v) {
    out.push_back(static_cast<char>((v >> 24) & 0xff));
    out.push_back(static_cast<char>((v >> 16) & 0xff));
    out.push_back(static_cast<char>((v >> 8) & 0xff));
    out.push_back(static_cast<char>(v & 0xff));
}

std::uint32_t get32(std::string_view in) {
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < 4; ++i) {
        v = (v << 8) | static_cast<unsigned char>(in[i]);
    }
    return v;
}

// A string as the protocol carries it: NUL-terminated, so a NUL inside (which would end it early and shift
// every field after it) becomes a space.
void put_string(std::string& out, std::string_view s) {
    for (const char c : s) {
        out.push_back(c == '\0' ? ' ' : c);
    }
    out.push_back('\0');
}

// A packet: the length of what follows, the code, the data.
std::string packet(char code, std::string_view data) {
    std::string out;
    out.reserve(5 + data.size());
    put32(out, static_cast<std::uint32_t>(data.size() + 1));
    out.push_back(code);
    out.append(data);
    return out;
}

std::string path_command(char code, std::string_view path, std::span<const std::string> parameters) {
    std::string data;
    put_string(data, "<" + std::string(path) + ">");
    for (const auto& p : parameters) {
        put_string(data, p);
    }
    return packet(code, data);
}

// Takes the next NUL-terminated string off `in`; false when there is no NUL.
bool take_string(std::string_view& in, std::string& out) {
    const auto nul = in.find('\0');
    if (nul == std::string_view::npos) {
        return false;
    }
    out.assign(in.substr(0, nul));
    in.remove_prefix(nul + 1);
    return true;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// "x.y.z": a class digit, then one to three digits twice (RFC 3463 allows up to three).
std::size_t enhanced_length(std::string_view s) {
    std::size_t at = 0;
    if (s.size() < 5 || !is_digit(s[0]) || s[1] != '.') {
        return 0;
    }
    at = 2;
    for (int part = 0; part < 2; ++part) {
        const std::size_t start = at;
        while (at < s.size() && is_digit(s[at]) && at - start < 3) {
            ++at;
        }
        if (at == start) {
            return 0;
        }
        if (part == 0) {
            if (at >= s.size() || s[at] != '.') {
                return 0;
            }
            ++at;
        }
    }
    return at == s.size() || s[at] == ' ' ? at : 0;
}

// A header name as a milter may give it: printable ASCII without the colon (RFC 5322 ftext), not empty.
bool valid_field_name(std::string_view name) {
    return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) { return c > 32 && c < 127 && c != ':'; });
}

bool fail(std::string* error, std::string what) {
    if (error != nullptr) {
        *error = std::move(what);
    }
    return false;
}

// Symbol lists after the three numbers of the negotiation: (stage, "name name ...\0") repeated.
bool parse_symlists(std::string_view in, negotiation& out, std::string* error) {
    while (!in.empty()) {
        if (in.size() < 4) {
            return fail(error, "negotiation: a macro list's stage is cut short");
        }
        const std::uint32_t which = get32(in);
        in.remove_prefix(4);
        std::string names;
        if (which >= stage_count) {
            return fail(error, "negotiation: macro list for unknown stage " + std::to_string(which));
        }
        if (!take_string(in, names)) {
            return fail(error, "negotiation: a macro list without its NUL");
        }
        std::vector<std::string> list;
        for (std::size_t at = 0; at < names.size();) {
            const auto end = std::min(names.find(' ', at), names.size());
            if (end > at) {
                list.push_back(names.substr(at, end - at));
            }
            at = end + 1;
        }
        out.macros[which] = std::move(list);
    }
    return true;
}

}  // namespace

std::string encode_optneg(std::uint32_t version, std::uint32_t actions, std::uint32_t flags) {
    std::string data;
    put32(data, version);
    put32(data, actions);
    put32(data, flags);
    return packet(command::optneg, data);
}

std::string encode_macros(char for_command, std::span<const macro> macros) {
    std::string data(1, for_command);
    for (const auto& m : macros) {
        put_string(data, m.name);
        put_string(data, m.value);
    }
    return packet(command::macro, data);
}

std::string encode_connect(std::string_view hostname, std::string_view address, std::uint16_t port) {
    std::string data;
    put_string(data, hostname);
    constexpr std::string_view mapped = "::ffff:";
    if (address.size() > mapped.size() && address.substr(0, mapped.size()) == mapped &&
        address.find('.') != std::string_view::npos) {
        address.remove_prefix(mapped.size());
    }
    if (address.empty()) {
        data.push_back('U');
        return packet(command::connect, data);
    }
    data.push_back(address.find(':') != std::string_view::npos ? '6' : '4');
    data.push_back(static_cast<char>(port >> 8));
    data.push_back(static_cast<char>(port & 0xff));
    put_string(data, address);
    return packet(command::connect, data);
}

std::string encode_helo(std::string_view name) {
    std::string data;
    put_string(data, name);
    return packet(command::helo, data);
}

std::string encode_mail(std::string_view sender, std::span<const std::string> parameters) {
    return path_command(command::mail, sender, parameters);
}

std::string encode_rcpt(std::string_view recipient, std::span<const std::string> parameters) {
    return path_command(command::rcpt, recipient, parameters);
}

std::string encode_header(std::string_view name, std::string_view value) {
    std::string data;
    put_string(data, name);
    put_string(data, value);
    return packet(command::header, data);
}

std::string encode_body(std::string_view chunk) {
    return packet(command::body, chunk.substr(0, std::min(chunk.size(), max_body_chunk)));
}

std::string encode_bare(char code) { return packet(code, {}); }

std::optional<smtp_reply> parse_reply_code(std::string_view text) {
    smtp_reply out;
    while (!text.empty()) {
        auto end = text.find('\n');
        std::string_view line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        if (line.size() < 3 || !is_digit(line[0]) || !is_digit(line[1]) || !is_digit(line[2]) ||
            (line[0] != '4' && line[0] != '5')) {
            return std::nullopt;
        }
        const auto code = static_cast<std::uint16_t>((line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0'));
        if ((out.code != 0 && code != out.code) || (line.size() > 3 && line[3] != ' ' && line[3] != '-') ||
            (line.size() > 3 && line[3] == '-' && text.empty())) {
            return std::nullopt;  // codes that differ, no separator, or a continuation with nothing after it
        }
        out.code = code;
        std::string_view rest = line.size() > 4 ? line.substr(4) : std::string_view{};
        if (const auto n = enhanced_length(rest); n != 0) {
            if (rest[0] != line[0] || (!out.enhanced.empty() && out.enhanced != rest.substr(0, n))) {
                return std::nullopt;  // "550 4.7.1": the enhanced code's class must be the reply's
            }
            out.enhanced.assign(rest.substr(0, n));
            rest.remove_prefix(std::min(n + 1, rest.size()));
        }
        if (!rest.empty()) {
            out.text += out.text.empty() ? "" : " ";
            out.text.append(rest);
        }
    }
    if (out.code == 0) {
        return std::nullopt;
    }
    return out;
}

namespace {

// The negotiation's answer (version, actions, flags, then macro lists), or a lone SETSYMLIST.
std::optional<response> parse_negotiation(response r, std::string_view data, std::string* error) {
    const std::size_t numbers = r.code == response_code::optneg ? 12 : 4;
    if (data.size() < numbers) {
        fail(error, std::string("response '") + r.code + "': cut short before its lists");
        return std::nullopt;
    }
    if (r.code == response_code::optneg) {
        r.options.version = get32(data);
        r.options.actions = get32(data.substr(4));
        r.options.flags = get32(data.substr(8));
        data.remove_prefix(12);
    } else {
        r.index = get32(data);  // the lists follow, this stage's first
    }
    if (!parse_symlists(data, r.options, error)) {
        return std::nullopt;
    }
    return r;
}

}  // namespace

std::optional<response> parse_response(char code, std::string_view data, std::string* error) {
    response r;
    r.code = code;
    namespace rc = response_code;
    const auto malformed = [&](std::string_view what) {
        fail(error, std::string("response '") + code + "': " + std::string(what));
        return std::nullopt;
    };
    switch (code) {
        case rc::accept:
        case rc::continue_:
        case rc::discard:
        case rc::reject:
        case rc::tempfail:
        case rc::progress:
        case rc::skip:
        case rc::connection_fail:
        case rc::shutdown:
            if (!data.empty()) {
                return malformed("carries data it should not");
            }
            return r;
        case rc::replace_body:
            r.data.assign(data);
            return r;
        case rc::reply_code: {
            std::string text;
            if (!take_string(data, text) || !data.empty()) {
                return malformed("not one NUL-terminated string");
            }
            auto parsed = parse_reply_code(text);
            if (!parsed) {
                return malformed("not a 4xx or 5xx reply");
            }
            r.reply = std::move(*parsed);
            return r;
        }
        case rc::insert_header:
        case rc::change_header:
            if (data.size() < 4) {
                return malformed("no index");
            }
            r.index = get32(data);
            data.remove_prefix(4);
            [[fallthrough]];
        case rc::add_header:
            if (!take_string(data, r.name) || !take_string(data, r.value) || !data.empty()) {
                return malformed("not a name and a value, each NUL-terminated");
            }
            if (!valid_field_name(r.name)) {
                return malformed("not a header field name");
            }
            return r;
        case rc::quarantine:
            if (!take_string(data, r.value) || !data.empty()) {
                return malformed("not one NUL-terminated reason");
            }
            return r;
        case rc::add_rcpt:
        case rc::delete_rcpt:
        case rc::add_rcpt_par:
        case rc::change_from:
            // An address, and for the two with parameters optionally a second string.
            if (!take_string(data, r.name) ||
                (!data.empty() && (code == rc::add_rcpt || code == rc::delete_rcpt || !take_string(data, r.value))) ||
                !data.empty()) {
                return malformed("not an address and its parameters, NUL-terminated");
            }
            return r;
        case rc::set_symlist:
        case rc::optneg:
            return parse_negotiation(std::move(r), data, error);
        default:
            return malformed("unknown response code");
    }
}

bool decoder::feed(std::string_view octets, std::vector<response>& out) {
    if (failed()) {
        return false;
    }
    while (!octets.empty()) {
        if (need_ == 0) {
            const auto n = std::min(octets.size(), 4 - header_.size());
            header_.append(octets.substr(0, n));
            octets.remove_prefix(n);
            if (header_.size() < 4) {
                return true;
            }
            const std::uint32_t length = get32(header_);
            header_.clear();
            if (length == 0 || length > limit_) {
                error_ = length == 0 ? "a response of length 0 (no code)"
                                     : "a response of " + std::to_string(length) + " octets, more than " +
                                           std::to_string(limit_);
                return false;
            }
            need_ = length;
            packet_.clear();
        }
        const auto n = std::min(octets.size(), need_ - packet_.size());
        packet_.append(octets.substr(0, n));
        octets.remove_prefix(n);
        if (packet_.size() == need_ && !complete(out)) {
            return false;
        }
    }
    return true;
}

bool decoder::complete(std::vector<response>& out) {
    need_ = 0;
    auto parsed = parse_response(packet_[0], std::string_view(packet_).substr(1), &error_);
    packet_.clear();
    if (!parsed) {
        if (error_.empty()) {
            error_ = "malformed response";
        }
        return false;
    }
    out.push_back(std::move(*parsed));
    return true;
}

offer our_offer(bool replace_body) {
    offer o;
    o.actions = action::add_headers | action::change_headers | action::quarantine | action::set_symlist |
                (replace_body ? action::change_body : 0);
    o.flags = flag::no_connect | flag::no_helo | flag::no_mail | flag::no_rcpt | flag::no_body | flag::no_headers |
              flag::no_eoh | flag::nr_header | flag::no_unknown | flag::no_data | flag::skip | flag::nr_connect |
              flag::nr_helo | flag::nr_mail | flag::nr_rcpt | flag::nr_data | flag::nr_unknown | flag::nr_eoh |
              flag::nr_body | flag::header_leading_space;
    return o;
}

namespace {

struct step_flags {
    std::uint32_t off;
    std::uint32_t no_reply;
};

step_flags flags_of(step s) {
    switch (s) {
        case step::connect:
            return {flag::no_connect, flag::nr_connect};
        case step::helo:
            return {flag::no_helo, flag::nr_helo};
        case step::mail:
            return {flag::no_mail, flag::nr_mail};
        case step::rcpt:
            return {flag::no_rcpt, flag::nr_rcpt};
        case step::data:
            return {flag::no_data, flag::nr_data};
        case step::header:
            return {flag::no_headers, flag::nr_header};
        case step::eoh:
            return {flag::no_eoh, flag::nr_eoh};
        case step::body:
            return {flag::no_body, flag::nr_body};
    }
    return {0, 0};
}

}  // namespace

bool agreement::sends(step s) const noexcept { return (flags & flags_of(s).off) == 0; }
bool agreement::replies(step s) const noexcept { return (flags & flags_of(s).no_reply) == 0; }

std::optional<agreement> negotiate(const offer& ours, const negotiation& theirs, std::string* error) {
    if (theirs.version < 2 || theirs.version > ours.version) {
        fail(error, "milter protocol version " + std::to_string(theirs.version) + ", we speak 2 to " +
                        std::to_string(ours.version));
        return std::nullopt;
    }
    agreement a;
    a.version = theirs.version;
    a.actions = theirs.actions & ours.actions;
    a.flags = theirs.flags & ours.flags;
    a.dropped_actions = theirs.actions & ~ours.actions;
    a.dropped_flags = theirs.flags & ~ours.flags;
    a.macros = theirs.macros;  // libmilter sends the lists whenever the milter has them
    return a;
}

}  // namespace mailwright::milter
