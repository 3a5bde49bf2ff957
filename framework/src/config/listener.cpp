// [[listener]]: the keys every listener has (addresses, limits, TLS, authentication), and the service's own
// table ([listener.pop3], [listener.smtp]), which the service reads itself (schema::sections). What a key
// means to a protocol is not known here.
#include <fmt/format.h>

#include <fmt/ranges.h>
#include <algorithm>
#include <asio/ip/address.hpp>
#include <cctype>
#include <set>

#include "mailwright/sasl/mechanism.hpp"
#include "readers.hpp"

namespace mailwright::config {

using namespace std::chrono_literals;

namespace {

// auth_mechanisms: upper-cased, each one this build has.
void read_mechanisms(table_reader& r, std::vector<std::string>& out, context& ctx) {
    r.strings("auth_mechanisms", out);
    const auto known = sasl::mechanisms();
    for (auto& m : out) {
        std::transform(m.begin(), m.end(), m.begin(), [](unsigned char c) { return std::toupper(c); });
        if (std::none_of(known.begin(), known.end(), [&](const auto& info) { return info.name == m; })) {
            std::vector<std::string_view> names;
            for (const auto& info : known) {
                names.push_back(info.name);
            }
            ctx.add(r.node_of("auth_mechanisms")->source(),
                    fmt::format("unknown SASL mechanism \"{}\" in 'auth_mechanisms'; known: \"{}\"", m,
                                fmt::join(names, "\", \"")));
        }
    }
}

// tls, auth_requires_tls (whose default follows tls) and tls_options.
void read_transport(table_reader& r, listener_config& out, context& ctx) {
    r.choice("tls", out.tls_mode,
             {{"none", tls::mode::none}, {"starttls", tls::mode::starttls}, {"implicit", tls::mode::implicit}});
    out.auth_requires_tls = out.tls_mode == tls::mode::starttls;  // secure unless told otherwise
    r.boolean("auth_requires_tls", out.auth_requires_tls);
    if (out.auth_requires_tls && out.tls_mode == tls::mode::none) {
        ctx.add(r.node_of("auth_requires_tls")->source(),
                fmt::format("[[listener]] '{}' has auth_requires_tls = true but no TLS, so nobody could log in: set "
                            "tls = \"starttls\" or \"implicit\", or auth_requires_tls = false",
                            out.name));
    }
    if (const toml::node* node = r.node_of("tls_options")) {
        r.known("tls_options");
        read_tls_options(*node, out.tls, ctx);
    }
}

// proxy_protocol, proxy_trusted (networks, each checked where it stands) and proxy_timeout.
void read_proxy(table_reader& r, listener_config& out, context& ctx) {
    r.boolean("proxy_protocol", out.proxy_protocol);
    std::vector<std::string> texts;
    r.strings("proxy_trusted", texts);
    const toml::node* node = r.node_of("proxy_trusted");
    const toml::array* array = node != nullptr ? node->as_array() : nullptr;
    std::vector<net::network> networks;
    for (std::size_t i = 0; i < texts.size(); ++i) {
        std::string error;
        if (auto n = net::parse_network(texts[i], error)) {
            networks.push_back(*n);
            continue;
        }
        const auto& where = array != nullptr && i < array->size() ? (*array)[i].source() : node->source();
        ctx.add(where, fmt::format("'{}' in 'proxy_trusted' of [[listener]] '{}' is not a network: {}", texts[i],
                                   out.name, error));
    }
    out.proxy_trusted = net::network_list(std::move(networks));
    r.duration("proxy_timeout", out.proxy_timeout, 100ms, 5min);
    if (out.proxy_protocol && texts.empty()) {
        ctx.add(node != nullptr ? node->source() : r.key_source("proxy_protocol"),
                fmt::format("[[listener]] '{}' has proxy_protocol = true but trusts no proxy: set proxy_trusted to "
                            "the load balancers' addresses, e.g. [\"10.0.0.0/8\"] (only they may name the client)",
                            out.name));
    }
}

// The services whose table is `table`, as a message lists them: "\"smtp\" or \"lmtp\"".
std::string owners_of(std::string_view table, const schema& known) {
    std::vector<std::string> names;
    for (const auto& s : known.sections) {
        if (s.table == table) {
            names.push_back(fmt::format("\"{}\"", s.service));
        }
    }
    return fmt::format("{}", fmt::join(names, " or "));
}

// Reads [listener.<section.table>] (`node`; none: the defaults) as `service`, with the service's reader.
std::any read_section(const service_section& section, std::string_view service, const toml::node* node,
                      const table_reader& listener, context& ctx) {
    const std::string name = fmt::format("[listener.{}]", section.table);
    if (node != nullptr && !node->is_table()) {
        ctx.add(node->source(), fmt::format("'{}' must be a table, written {}", section.table, name));
        node = nullptr;
    }
    const toml::table none;
    table_reader r(node != nullptr ? *node->as_table() : none, name, ctx,
                   node != nullptr ? node->source() : listener.home());
    std::any settings = section.read(r, service);
    r.finish();
    return settings;
}

// The listener's service's table, read into out.settings, then any other service's table, which does not
// belong here (it is still read: every mistake is reported at once).
void read_service_tables(table_reader& r, listener_config& out, const schema& known, context& ctx) {
    const auto own = std::find_if(known.sections.begin(), known.sections.end(),
                                  [&](const service_section& s) { return s.service == out.service; });
    std::set<std::string_view> done;
    if (own != known.sections.end()) {
        done.insert(own->table);
        r.known(own->table);
        out.settings = read_section(*own, out.service, r.node_of(own->table), r, ctx);
    }
    for (const auto& section : known.sections) {
        const toml::node* node = r.node_of(section.table);
        if (node == nullptr || !done.insert(section.table).second) {
            continue;
        }
        r.known(section.table);
        ctx.add(node->source(), fmt::format("[listener.{}] belongs to a listener whose service is {}, but '{}' "
                                            "serves \"{}\"",
                                            section.table, owners_of(section.table, known), out.name, out.service));
        read_section(section, section.service, node, r, ctx);
    }
}

// What only the whole listener can tell about its TLS: a certificate, and a CA to check clients against.
void check_tls(const toml::table& table, const listener_config& out, context& ctx) {
    if (out.tls_mode == tls::mode::none) {
        return;
    }
    if (out.tls.certificate.empty() || out.tls.key.empty()) {
        ctx.add(table.source(), fmt::format("[[listener]] '{}' uses TLS but has no certificate: set 'certificate' "
                                            "and 'key' in [tls] or in its [listener.tls_options]",
                                            out.name));
    }
    if (out.tls.client_certs != tls::client_certificates::none && out.tls.client_ca.empty()) {
        ctx.add(table.source(), fmt::format("[[listener]] '{}' asks for client certificates but has no "
                                            "'client_ca' file to verify them against",
                                            out.name));
    }
}

// A name, and a service this build (or a plugin) provides.
void check_identity(const table_reader& r, const toml::table& table, const listener_config& out, const schema& known,
                    context& ctx) {
    if (const auto* node = r.node_of("name"); node == nullptr || out.name.empty()) {
        ctx.add(table.source(), "a [[listener]] needs a non-empty 'name', e.g. name = \"pop3\"");
    }
    if (const auto* node = r.node_of("service"); node == nullptr) {
        ctx.add(table.source(), fmt::format("[[listener]] '{}' needs a 'service', one of \"{}\"", out.name,
                                            fmt::join(known.services, "\", \"")));
    } else if (std::find(known.services.begin(), known.services.end(), out.service) == known.services.end()) {
        ctx.add(node->source(), fmt::format("unknown service \"{}\" in [[listener]] '{}'; this build serves \"{}\"",
                                            out.service, out.name, fmt::join(known.services, "\", \"")));
    }
}

void check_addresses(const table_reader& r, const toml::table& table, const listener_config& out, context& ctx) {
    if (out.addresses.empty()) {
        ctx.add(table.source(), fmt::format("[[listener]] '{}' needs at least one address", out.name));
    }
    for (const auto& address : out.addresses) {
        std::error_code ec;
        // Only the characters an address can have: asio parses a C string, so "127.0.0.1\0junk" would pass.
        const bool plausible =
            !address.empty() && address.find_first_not_of("0123456789abcdefABCDEF.:") == std::string::npos;
        if (plausible) {
            asio::ip::make_address(address, ec);
        }
        if (!plausible || ec) {
            ctx.add(r.node_of("address")->source(),
                    fmt::format("'{}' in [[listener]] '{}' is not a numeric IPv4 or IPv6 address (e.g. \"127.0.0.1\" "
                                "or \"::1\")",
                                address, out.name));
        }
    }
}

}  // namespace

void read_listener(const toml::table& table, listener_config& out, const schema& known, context& ctx) {
    table_reader r(table, "[[listener]]", ctx);
    r.string("name", out.name);
    r.string("service", out.service);
    r.strings("address", out.addresses);
    r.integer("port", out.port, 0, 65535);
    r.duration("read_timeout", out.read_timeout, 1s, 24h);
    read_mechanisms(r, out.auth_mechanisms, ctx);
    r.boolean("plaintext_auth", out.plaintext_auth);
    r.integer("max_auth_failures", out.max_auth_failures, 1, 100);
    r.integer("max_bad_commands", out.max_bad_commands, 1, 1000);
    r.integer("max_line", out.max_line, 64, 1 << 20);
    r.choice("bare_lf", out.bare_lf, {{"accept", io::bare_lf_policy::accept}, {"reject", io::bare_lf_policy::reject}});
    read_transport(r, out, ctx);
    read_proxy(r, out, ctx);
    read_service_tables(r, out, known, ctx);
    r.finish();
    check_tls(table, out, ctx);
    check_identity(r, table, out, known, ctx);
    check_addresses(r, table, out, ctx);
}

}  // namespace mailwright::config
