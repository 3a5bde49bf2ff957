// ESMTP parameters and BDAT's size: see the header.
#include "mailwright/smtp/parameters.hpp"

#include <charconv>

namespace mailwright::smtp {

namespace {

// A decimal number that is all of `text`: no sign, no space, no overflow.
std::optional<std::uint64_t> decimal(std::string_view text) noexcept {
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

// BODY's value as this server spells it, or empty when it is not one it takes.
std::string body_type(std::string_view value, bool binarymime) {
    if (iequals(value, "7BIT")) {
        return "7BIT";
    }
    if (iequals(value, "8BITMIME")) {
        return "8BITMIME";
    }
    if (binarymime && iequals(value, "BINARYMIME")) {
        return "BINARYMIME";
    }
    return {};
}

// One MAIL parameter into `out`; false when it is unsupported or malformed.
bool take_mail_parameter(const parameter& p, bool binarymime, mail_parameters& out) {
    const std::string_view value = p.value.value_or("");
    if (iequals(p.keyword, "SIZE") && p.value) {
        out.size = decimal(value);
        if (!out.size) {
            out.error = parameter_error::bad_size;
        }
        return true;
    }
    if (iequals(p.keyword, "BODY") && p.value) {
        out.body = body_type(value, binarymime);
        return !out.body.empty();
    }
    if (iequals(p.keyword, "SMTPUTF8") && !p.value) {
        out.smtputf8 = true;
        return true;
    }
    if (iequals(p.keyword, "RET") && (iequals(value, "FULL") || iequals(value, "HDRS"))) {
        out.ret = iequals(value, "FULL") ? "FULL" : "HDRS";
        return true;
    }
    if (iequals(p.keyword, "ENVID") && p.value && valid_xtext(value) && value.size() <= 100) {
        out.envid = std::string(value);
        return true;
    }
    // RFC 4954 5: the original submitter, for trusted relays; checked, and kept no further.
    return iequals(p.keyword, "AUTH") && p.value && (value == "<>" || valid_xtext(value));
}

}  // namespace

mail_parameters read_mail_parameters(std::span<const parameter> parameters, bool binarymime) {
    mail_parameters out;
    for (const auto& p : parameters) {
        if (!take_mail_parameter(p, binarymime, out)) {
            out.error = parameter_error::unsupported;
        }
        if (out.error != parameter_error::none) {
            break;
        }
    }
    return out;
}

rcpt_parameters read_rcpt_parameters(std::span<const parameter> parameters) {
    rcpt_parameters out;
    for (const auto& p : parameters) {
        const std::string_view value = p.value.value_or("");
        const auto semicolon = value.find(';');
        if (iequals(p.keyword, "NOTIFY") && p.value && valid_notify(value)) {
            out.notify = std::string(value);
        } else if (iequals(p.keyword, "ORCPT") && p.value && semicolon != std::string_view::npos && semicolon > 0 &&
                   valid_xtext(value.substr(semicolon + 1))) {
            out.orcpt = std::string(value);
        } else {
            out.error = parameter_error::unsupported;
            break;
        }
    }
    return out;
}

bool valid_notify(std::string_view value) noexcept {
    if (iequals(value, "NEVER")) {
        return true;
    }
    bool seen[3] = {false, false, false};
    while (true) {
        const auto comma = value.find(',');
        const std::string_view word = value.substr(0, comma);
        const int which = iequals(word, "SUCCESS") ? 0 : iequals(word, "FAILURE") ? 1 : iequals(word, "DELAY") ? 2 : -1;
        if (which < 0 || seen[which]) {
            return false;
        }
        seen[which] = true;
        if (comma == std::string_view::npos) {
            return true;
        }
        value.remove_prefix(comma + 1);
    }
}

std::optional<bdat_chunk> parse_bdat(std::string_view argument) noexcept {
    const auto space = argument.find(' ');
    const auto size = decimal(argument.substr(0, space));
    if (!size) {
        return std::nullopt;
    }
    if (space == std::string_view::npos) {
        return bdat_chunk{*size, false};
    }
    if (!iequals(argument.substr(space + 1), "LAST")) {
        return std::nullopt;
    }
    return bdat_chunk{*size, true};
}

}  // namespace mailwright::smtp
