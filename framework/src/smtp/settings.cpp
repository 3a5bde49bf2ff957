// [listener.smtp]: the keys of an SMTP or LMTP listener's own table, their checks, and nothing else. The
// defaults are options{}'s: a key the file omits keeps it.
#include <fmt/format.h>

#include "mailwright/net/network.hpp"
#include "mailwright/smtp/service.hpp"

namespace mailwright::smtp {

namespace {

// xclient_trusted: networks as net::parse_network reads them; each wrong one reported at the key.
void read_trusted(config::section_reader& section, std::string_view key, net::network_list& out) {
    std::vector<std::string> texts;
    if (!section.strings(key, texts)) {
        return;
    }
    std::vector<net::network> networks;
    for (const auto& text : texts) {
        std::string error;
        if (const auto n = net::parse_network(text, error)) {
            networks.push_back(*n);
        } else {
            section.invalid(key, fmt::format("\"{}\": {}", text, error));
        }
    }
    out = net::network_list(std::move(networks));
}

}  // namespace

options read_settings(config::section_reader& section, std::string_view service) {
    using namespace std::chrono_literals;
    options o;
    if (service == "lmtp") {
        o.kind = role::lmtp;  // LMTP has one role, so no 'role' key
    } else {
        section.choice("role", o.kind, {{"mx", role::mx}, {"submission", role::submission}});
    }
    section.strings("local_domains", o.local_domains);
    section.choice("relay", o.relay, {{"none", relay_policy::none}, {"authenticated", relay_policy::authenticated}});
    section.boolean("require_tls", o.require_tls);
    section.integer("max_recipients", o.max_recipients, 1, 100'000);
    section.integer("max_message_size", o.max_message_size, 1024, std::int64_t{1} << 40);
    section.choice("bare_line_ends", o.bare,
                   {{"reject", bare_line_ends::reject}, {"normalise", bare_line_ends::normalise}});
    section.duration("pregreet_wait", o.pregreet_wait, 0ms, 1min);
    section.integer("min_data_rate", o.min_data_rate, 0, std::int64_t{1} << 30);
    section.boolean("allow_null_sender", o.allow_null_sender);
    section.boolean("implicit_helo_after_starttls", o.implicit_helo_after_starttls);
    section.string("postmaster", o.postmaster);
    read_trusted(section, "xclient_trusted", o.xclient_trusted);
    if (!o.xclient_trusted.empty() && o.kind == role::lmtp) {
        section.invalid("xclient_trusted",
                        "applies to SMTP listeners only: an LMTP client is the local MTA, with no client of its "
                        "own to speak for; leave it empty");
    }
    if (o.allow_null_sender && o.kind != role::submission) {
        section.invalid("allow_null_sender",
                        "applies to role \"submission\" only: an MX and LMTP always take the "
                        "null reverse-path of bounces (RFC 5321 4.5.5)");
    }
    if (o.relay != relay_policy::none && o.kind == role::lmtp) {
        section.invalid("relay", "LMTP delivers to local mailboxes only (RFC 2033): leave it \"none\"");
    }
    if (o.postmaster.empty() || o.postmaster.find_first_of(" \t\r\n") != std::string::npos) {
        section.invalid("postmaster",
                        fmt::format("must name a user, such as \"postmaster\" or \"admin\", not \"{}\"", o.postmaster));
    }
    return o;
}

}  // namespace mailwright::smtp
