// [plugin.forward]: the next hops and the routes, read and checked; the route of an address.
#include "routes.hpp"

#include <algorithm>
#include <stdexcept>

#include "mailwright/io/ascii.hpp"
#include "mailwright/io/watched_file.hpp"

namespace mailwright::forward {

namespace {

using tls_mode = smtp::client::tls_options::mode;

void read_tls(plugin::settings& s, smtp::client::tls_options& tls) {
    const auto mode = s.string("tls").value_or("none");
    if (mode == "starttls") {
        tls.use = tls_mode::starttls;
    } else if (mode == "implicit") {
        tls.use = tls_mode::implicit;
    } else if (mode != "none") {
        s.invalid("tls", "\"none\", \"starttls\" or \"implicit\"");
    }
    tls.verify = s.boolean("verify").value_or(true);
    tls.ca_file = s.string("ca_file").value_or("");
    tls.server_name = s.string("server_name").value_or("");
    tls.fingerprint = s.string("fingerprint").value_or("");
    if (!tls.fingerprint.empty() && !tls.fingerprint.starts_with("sha256:")) {
        s.invalid("fingerprint", "\"sha256:\" and the hex SHA-256 of the next hop's certificate");
    }
    if (tls.use == tls_mode::none && (!tls.ca_file.empty() || !tls.fingerprint.empty())) {
        s.invalid("tls", "\"starttls\" or \"implicit\": ca_file and fingerprint need TLS");
    }
}

void read_auth(plugin::settings& s, smtp::client::options& o) {
    o.user = s.string("user").value_or("");
    o.password = s.string("password").value_or("");
    if (const auto file = s.string("password_file")) {
        try {
            o.password = io::read_bounded(*file, 4096, "password file");
            while (!o.password.empty() && (o.password.back() == '\n' || o.password.back() == '\r')) {
                o.password.pop_back();
            }
        } catch (const std::exception& e) {
            s.invalid("password_file", e.what());
        }
    }
    o.plaintext_auth = s.boolean("plaintext_auth").value_or(false);
    if (!o.user.empty() && o.password.empty()) {
        s.invalid("user", "a password too (password_file, or password)");
    }
    if (!o.user.empty() && o.tls.use == tls_mode::none && !o.plaintext_auth) {
        s.invalid("user",
                  "tls = \"starttls\" or \"implicit\": a password is never sent in the clear "
                  "(plaintext_auth = true allows it, for a next hop on loopback or a unix socket)");
    }
}

void read_timeouts(plugin::settings& s, hop& h) {
    auto& o = h.client;
    o.connect_timeout = s.duration("connect_timeout").value_or(o.connect_timeout);
    o.command_timeout = s.duration("command_timeout").value_or(o.command_timeout);
    o.data_timeout = s.duration("data_timeout").value_or(o.data_timeout);
    o.final_timeout = s.duration("final_timeout").value_or(o.final_timeout);
    h.idle_timeout = s.duration("idle_timeout").value_or(h.idle_timeout);
}

hop read_hop(const std::string& name, plugin::settings& s, std::string_view default_helo) {
    hop h;
    h.name = name;
    std::string why;
    const auto address = s.string("address");
    if (!address) {
        s.invalid("address", "where the next hop listens: \"host:port\", \"[v6]:port\" or \"unix:/path\"");
    } else if (auto parsed = net::endpoint::parse(*address, &why)) {
        h.address = std::move(*parsed);
    } else {
        s.invalid("address", why);
    }
    const auto protocol = s.string("protocol").value_or("smtp");
    if (protocol == "lmtp") {
        h.client.kind = smtp::client::protocol::lmtp;
    } else if (protocol != "smtp") {
        s.invalid("protocol", "\"smtp\" or \"lmtp\"");
    }
    h.client.helo_name = s.string("helo_name").value_or(std::string(default_helo));
    read_tls(s, h.client.tls);
    read_auth(s, h.client);
    read_timeouts(s, h);
    h.max_connections = static_cast<std::size_t>(s.integer("max_connections", 1, 10'000).value_or(10));
    return h;
}

}  // namespace

std::optional<std::size_t> table::route_of(std::string_view address) const {
    const std::string lower = io::to_lower(address);
    const auto at = lower.rfind('@');
    const std::string_view domain =
        at == std::string::npos ? std::string_view{} : std::string_view(lower).substr(at + 1);
    for (const std::string_view wanted : {std::string_view(lower), domain, std::string_view("*")}) {
        const auto r = std::find_if(routes.begin(), routes.end(), [&](const route& x) { return x.match == wanted; });
        if (!wanted.empty() && r != routes.end()) {
            return r->hop;
        }
    }
    return std::nullopt;
}

std::string table::first_domain() const {
    for (const auto& r : routes) {
        if (r.match != "*" && r.match.find('@') == std::string::npos) {
            return r.match;
        }
    }
    return {};
}

table read_table(plugin::settings& config, std::string_view default_helo) {
    table t;
    for (const auto& [name, settings] : config.tables("hops")) {
        t.hops.push_back(read_hop(name, *settings, default_helo));
    }
    if (t.hops.empty()) {
        config.invalid("hops", "at least one next hop: [plugin.forward.hops.NAME] with its address");
    }
    for (const auto& [index, settings] : config.tables("routes")) {
        const auto match = settings->string("match");
        const auto hop_name = settings->string("hop");
        const auto h = std::find_if(t.hops.begin(), t.hops.end(), [&](const hop& x) { return x.name == hop_name; });
        if (!match || match->empty()) {
            settings->invalid("match", "a domain, an address (user@domain) or \"*\"");
        } else if (h == t.hops.end()) {
            settings->invalid("hop", "the name of one of the [plugin.forward.hops.NAME] tables");
        } else {
            t.routes.push_back({io::to_lower(*match), static_cast<std::size_t>(h - t.hops.begin())});
        }
    }
    if (t.routes.empty()) {
        config.invalid("routes", "at least one [[plugin.forward.routes]] with match and hop (match = \"*\": all)");
    }
    return t;
}

}  // namespace mailwright::forward
