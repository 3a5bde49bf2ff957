// TOML -> typed configuration, with every error located (file:line:column) and explained.
#include "mailwright/config/config.hpp"

#include "mailwright/sasl/mechanism.hpp"

#include <fmt/format.h>

#include <fmt/ranges.h>
#include <toml++/toml.h>
#include <algorithm>
#include <asio/ip/address.hpp>
#include <cctype>
#include <charconv>
#include <set>

namespace mailwright::config {

struct plugin_table {
    toml::table table;
};

std::string error::to_string() const {
    if (line == 0) {
        return fmt::format("{}: {}", file, message);
    }
    return fmt::format("{}:{}:{}: {}", file, line, column, message);
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end == text.data()) {
        return std::nullopt;
    }
    const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
    std::uint64_t factor = 0;
    if (unit == "ms") {
        factor = 1;
    } else if (unit.empty() || unit == "s") {
        factor = 1000;
    } else if (unit == "m") {
        factor = 60'000;
    } else if (unit == "h") {
        factor = 3'600'000;
    } else {
        return std::nullopt;
    }
    if (value > std::uint64_t{1} << 40) {
        return std::nullopt;  // over 34 years: surely a typo
    }
    return std::chrono::milliseconds(value * factor);
}

namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) {
        row[j] = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

// Collects errors for one file.
struct context {
    std::string file;
    std::vector<error> errors;

    void add(const toml::source_region& where, std::string message) {
        errors.push_back({file, where.begin.line, where.begin.column, std::move(message)});
    }
};

// Reads one TOML table. Every key must be read by exactly one accessor; finish() reports the rest as unknown,
// with the nearest known key as a suggestion.
class table_reader {
  public:
    table_reader(const toml::table& table, std::string name, context& ctx)
        : table_(table), name_(std::move(name)), ctx_(ctx) {}

    template <class Int>
    void integer(std::string_view key, Int& out, std::int64_t min, std::int64_t max) {
        const toml::node* node = take(key);
        if (node == nullptr) {
            return;
        }
        // is_integer() first: toml++ converts a float to an integer on request, which is undefined behaviour
        // for one beyond the range (found by fuzz_config: port = 9e93).
        const auto value = node->is_integer() ? node->value<std::int64_t>() : std::nullopt;
        if (!value || *value < min || *value > max) {
            ctx_.add(node->source(), fmt::format("'{}' in {} must be an integer from {} to {}, not {}", key, name_, min,
                                                 max, describe(*node)));
            return;
        }
        out = static_cast<Int>(*value);
    }

    void string(std::string_view key, std::string& out) {
        const toml::node* node = take(key);
        if (node == nullptr) {
            return;
        }
        if (!node->is_string()) {
            ctx_.add(node->source(), fmt::format("'{}' in {} must be a string, not {}", key, name_, describe(*node)));
            return;
        }
        out = *node->value<std::string>();
    }

    void choice(std::string_view key, std::string& out, std::initializer_list<std::string_view> allowed) {
        const toml::node* node = take(key);
        if (node == nullptr) {
            return;
        }
        const auto value = node->value<std::string>();
        if (!node->is_string() || std::find(allowed.begin(), allowed.end(), *value) == allowed.end()) {
            ctx_.add(node->source(), fmt::format("'{}' in {} must be one of \"{}\", not {}", key, name_,
                                                 fmt::join(allowed, "\", \""), describe(*node)));
            return;
        }
        out = *value;
    }

    void duration(std::string_view key, std::chrono::milliseconds& out, std::chrono::milliseconds min,
                  std::chrono::milliseconds max) {
        const toml::node* node = take(key);
        if (node == nullptr) {
            return;
        }
        std::optional<std::chrono::milliseconds> value;
        if (node->is_integer() && *node->value<std::int64_t>() >= 0) {
            value = std::chrono::seconds(*node->value<std::int64_t>());
        } else if (node->is_string()) {
            value = parse_duration(*node->value<std::string>());
        }
        if (!value || *value < min || *value > max) {
            ctx_.add(node->source(),
                     fmt::format("'{}' in {} must be a duration from {} ms to {} ms such as \"30s\", \"5m\" or "
                                 "\"250ms\", not {}",
                                 key, name_, min.count(), max.count(), describe(*node)));
            return;
        }
        out = *value;
    }

    void boolean(std::string_view key, bool& out) {
        const toml::node* node = take(key);
        if (node == nullptr) {
            return;
        }
        if (!node->is_boolean()) {
            ctx_.add(node->source(),
                     fmt::format("'{}' in {} must be true or false, not {}", key, name_, describe(*node)));
            return;
        }
        out = *node->value<bool>();
    }

    // A string or an array of strings.
    void string_list(std::string_view key, std::vector<std::string>& out) {
        const toml::node* node = take(key);
        if (node == nullptr) {
            return;
        }
        std::vector<std::string> values;
        if (node->is_string()) {
            values.push_back(*node->value<std::string>());
        } else if (const auto* array = node->as_array()) {
            for (const auto& element : *array) {
                if (!element.is_string()) {
                    ctx_.add(element.source(),
                             fmt::format("'{}' in {} must list strings, not {}", key, name_, describe(element)));
                    return;
                }
                values.push_back(*element.value<std::string>());
            }
        } else {
            ctx_.add(node->source(), fmt::format("'{}' in {} must be a string or an array of strings, not {}", key,
                                                 name_, describe(*node)));
            return;
        }
        out = std::move(values);
    }

    const toml::node* node_of(std::string_view key) const { return table_.get(key); }

    // Where the key itself stands (values such as arrays do not always carry a position), or the table's.
    toml::source_region key_source(std::string_view key) const {
        for (const auto& [k, v] : table_) {
            if (k.str() == key) {
                return k.source();
            }
        }
        return table_.source();
    }

    void finish() {
        for (const auto& [key, node] : table_) {
            if (seen_.count(std::string(key.str())) != 0) {
                continue;
            }
            std::string_view best;
            std::size_t best_distance = 3;  // suggest only close misspellings
            for (const auto& known : seen_all_) {
                const auto d = edit_distance(key.str(), known);
                if (d < best_distance) {
                    best_distance = d;
                    best = known;
                }
            }
            std::string hint = best.empty() ? fmt::format("known keys: {}", fmt::join(seen_all_, ", "))
                                            : fmt::format("did you mean '{}'?", best);
            ctx_.add(key.source(), fmt::format("unknown key '{}' in {}; {}", key.str(), name_, hint));
        }
    }

    // Declares a key that is read elsewhere (a sub-table), so finish() does not report it.
    void known(std::string_view key) { take(key); }

  private:
    const toml::node* take(std::string_view key) {
        seen_all_.emplace_back(key);
        const toml::node* node = table_.get(key);
        if (node != nullptr) {
            seen_.emplace(key);
        }
        return node;
    }

    static std::string describe(const toml::node& node) {
        if (const auto s = node.value<std::string>(); s && node.is_string()) {
            return fmt::format("\"{}\"", *s);
        }
        if (node.is_integer()) {
            return std::to_string(*node.value<std::int64_t>());
        }
        switch (node.type()) {
            case toml::node_type::table:
                return "a table";
            case toml::node_type::array:
                return "an array";
            case toml::node_type::boolean:
                return "a boolean";
            case toml::node_type::floating_point:
                return "a floating-point number";
            default:
                return "a date or time";
        }
    }

    const toml::table& table_;
    std::string name_;
    context& ctx_;
    std::set<std::string, std::less<>> seen_;
    std::vector<std::string> seen_all_;
};

using namespace std::chrono_literals;

void read_server(const toml::table& table, server_config& out, context& ctx) {
    table_reader r(table, "[server]", ctx);
    r.integer("workers", out.workers, 0, 256);
    r.integer("blocking_threads", out.blocking_threads, 1, 1024);
    r.integer("max_connections", out.max_connections, 1, 1'000'000);
    r.integer("max_connections_per_ip", out.max_connections_per_ip, 1, 1'000'000);
    r.integer("ipv6_prefix", out.ipv6_prefix, 16, 128);
    r.duration("shutdown_grace", out.shutdown_grace, 0ms, 1h);
    r.string("state_dir", out.state_dir);
    r.string("hostname", out.hostname);
    r.finish();
}

void read_auth(const toml::table& table, auth_config& out, context& ctx) {
    table_reader r(table, "[auth]", ctx);
    r.duration("failure_delay", out.failure_delay, 0ms, 1min);
    r.duration("failure_delay_max", out.failure_delay_max, 0ms, 10min);
    r.finish();
    if (out.failure_delay_max < out.failure_delay) {
        ctx.add(table.source(), "'failure_delay_max' in [auth] must not be shorter than 'failure_delay'");
    }
}

// [listener.pop3]
void read_pop3(const toml::table& table, pop3_config& out, context& ctx) {
    table_reader r(table, "[listener.pop3]", ctx);
    r.boolean("apop", out.apop);
    std::chrono::milliseconds delay = out.login_delay;
    r.duration("login_delay", delay, 0ms, 24h);
    out.login_delay = std::chrono::duration_cast<std::chrono::seconds>(delay);
    r.string("expire", out.expire);
    r.string("implementation", out.implementation);
    r.finish();
    if (!out.expire.empty() && out.expire != "NEVER" &&
        (out.expire.size() > 5 || out.expire.find_first_not_of("0123456789") != std::string::npos)) {
        ctx.add(table.source(), fmt::format("'expire' in [listener.pop3] must be \"NEVER\", a number of days such as "
                                            "\"30\", or \"\" to say nothing, not \"{}\"",
                                            out.expire));
    }
    if (out.implementation.find_first_of("\r\n") != std::string::npos) {
        ctx.add(table.source(), "'implementation' in [listener.pop3] must be one line");
    }
}

// [listener.smtp]
void read_smtp(const toml::table& table, smtp_config& out, bool lmtp, context& ctx) {
    table_reader r(table, "[listener.smtp]", ctx);
    if (!lmtp) {
        r.choice("role", out.role, {"mx", "submission"});
    }
    r.string_list("local_domains", out.local_domains);
    r.boolean("require_tls", out.require_tls);
    r.integer("max_recipients", out.max_recipients, 1, 100'000);
    r.integer("max_message_size", out.max_message_size, 1024, std::int64_t{1} << 40);
    r.choice("bare_line_ends", out.bare_line_ends, {"reject", "normalise"});
    r.duration("pregreet_wait", out.pregreet_wait, 0ms, 1min);
    r.integer("min_data_rate", out.min_data_rate, 0, std::int64_t{1} << 30);
    r.boolean("allow_null_sender", out.allow_null_sender);
    r.boolean("implicit_helo_after_starttls", out.implicit_helo_after_starttls);
    r.string("postmaster", out.postmaster);
    r.finish();
    if (out.allow_null_sender && (lmtp || out.role != "submission")) {
        ctx.add(table.source(),
                "'allow_null_sender' in [listener.smtp] applies to role \"submission\" only: an MX and LMTP always "
                "take the null reverse-path of bounces (RFC 5321 4.5.5)");
    }
    if (out.postmaster.empty() || out.postmaster.find_first_of(" \t\r\n") != std::string::npos) {
        ctx.add(table.source(), fmt::format("'postmaster' in [listener.smtp] must name a user, such as \"postmaster\" "
                                            "or \"admin\", not \"{}\"",
                                            out.postmaster));
    }
}

void read_log(const toml::table& table, log_config& out, context& ctx) {
    table_reader r(table, "[log]", ctx);
    r.choice("level", out.level, {"trace", "debug", "info", "warn", "error", "off"});
    r.finish();
}

// The TLS keys shared by [tls] and [listener.tls_options]: only the keys present change `out`.
void read_tls_keys(table_reader& r, tls::settings& out) {
    r.string("certificate", out.certificate);
    r.string("key", out.key);
    std::string version = out.min_version == tls::version::tls1_3 ? "1.3" : "1.2";
    r.choice("min_version", version, {"1.2", "1.3"});
    out.min_version = version == "1.3" ? tls::version::tls1_3 : tls::version::tls1_2;
    r.string("ciphers", out.ciphers);
    r.boolean("session_tickets", out.session_tickets);
    std::string client = out.client_certs == tls::client_certificates::required   ? "required"
                         : out.client_certs == tls::client_certificates::optional ? "optional"
                                                                                  : "none";
    r.choice("client_certificates", client, {"none", "optional", "required"});
    out.client_certs = client == "required"   ? tls::client_certificates::required
                       : client == "optional" ? tls::client_certificates::optional
                                              : tls::client_certificates::none;
    r.string("client_ca", out.client_ca);
    r.duration("handshake_timeout", out.handshake_timeout, 1s, 10min);
}

void read_sni(const toml::node* node, std::string_view where, std::vector<tls::sni_certificate>& out, context& ctx) {
    const auto* array = node != nullptr ? node->as_array() : nullptr;
    if (node == nullptr) {
        return;
    }
    if (array == nullptr || !array->is_array_of_tables()) {
        ctx.add(node->source(), fmt::format("'sni' in {} must be an array of tables, each written [[{}.sni]]", where,
                                            where == "[tls]" ? "tls" : "listener.tls_options"));
        return;
    }
    for (const auto& element : *array) {
        tls::sni_certificate sni;
        table_reader r(*element.as_table(), "an sni entry", ctx);
        r.string_list("names", sni.names);
        r.string("certificate", sni.certificate);
        r.string("key", sni.key);
        r.finish();
        if (sni.names.empty() || sni.certificate.empty() || sni.key.empty()) {
            ctx.add(element.source(), "an sni entry needs 'names', 'certificate' and 'key'");
        }
        out.push_back(std::move(sni));
    }
}

void read_tls(const toml::table& table, tls_config& out, context& ctx) {
    table_reader r(table, "[tls]", ctx);
    read_tls_keys(r, out.defaults);
    r.boolean("generate_self_signed", out.generate_self_signed);
    r.string_list("self_signed_names", out.self_signed_names);
    read_sni(r.node_of("sni"), "[tls]", out.defaults.sni, ctx);
    r.known("sni");
    r.finish();
}

void read_listener(const toml::table& table, listener_config& out, const schema& known, context& ctx) {
    table_reader r(table, "[[listener]]", ctx);
    r.string("name", out.name);
    r.string("service", out.service);
    r.string_list("address", out.addresses);
    r.integer("port", out.port, 0, 65535);
    r.duration("read_timeout", out.read_timeout, 1s, 24h);
    r.string_list("auth_mechanisms", out.auth_mechanisms);
    for (auto& m : out.auth_mechanisms) {
        std::transform(m.begin(), m.end(), m.begin(), [](unsigned char c) { return std::toupper(c); });
        const auto known_mechanisms = sasl::mechanisms();
        if (std::none_of(known_mechanisms.begin(), known_mechanisms.end(),
                         [&](const auto& info) { return info.name == m; })) {
            std::vector<std::string_view> names;
            for (const auto& info : known_mechanisms) {
                names.push_back(info.name);
            }
            ctx.add(r.node_of("auth_mechanisms")->source(),
                    fmt::format("unknown SASL mechanism \"{}\" in 'auth_mechanisms'; known: \"{}\"", m,
                                fmt::join(names, "\", \"")));
        }
    }
    r.boolean("plaintext_auth", out.plaintext_auth);
    r.integer("max_auth_failures", out.max_auth_failures, 1, 100);
    r.integer("max_bad_commands", out.max_bad_commands, 1, 1000);
    r.integer("max_line", out.max_line, 64, 1 << 20);
    std::string bare_lf = "accept";
    r.choice("bare_lf", bare_lf, {"accept", "reject"});
    out.bare_lf = bare_lf == "reject" ? io::bare_lf_policy::reject : io::bare_lf_policy::accept;
    std::string mode = "none";
    r.choice("tls", mode, {"none", "starttls", "implicit"});
    out.tls_mode = mode == "implicit"   ? tls::mode::implicit
                   : mode == "starttls" ? tls::mode::starttls
                                        : tls::mode::none;
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
        if (const auto* options = node->as_table()) {
            table_reader o(*options, "[listener.tls_options]", ctx);
            read_tls_keys(o, out.tls);
            if (o.node_of("sni") != nullptr) {
                out.tls.sni.clear();  // a listener's own SNI list replaces the global one
            }
            read_sni(o.node_of("sni"), "[listener.tls_options]", out.tls.sni, ctx);
            o.known("sni");
            o.finish();
        } else {
            ctx.add(node->source(), "'tls_options' must be a table, written [listener.tls_options]");
        }
    }
    if (const toml::node* node = r.node_of("pop3")) {
        r.known("pop3");
        if (const auto* pop3 = node->as_table()) {
            read_pop3(*pop3, out.pop3, ctx);
        } else {
            ctx.add(node->source(), "'pop3' must be a table, written [listener.pop3]");
        }
        if (out.service != "pop3") {
            ctx.add(node->source(), fmt::format("[listener.pop3] belongs to a listener whose service is \"pop3\", "
                                                "but '{}' serves \"{}\"",
                                                out.name, out.service));
        }
    }
    if (const toml::node* node = r.node_of("smtp")) {
        r.known("smtp");
        if (const auto* smtp = node->as_table()) {
            read_smtp(*smtp, out.smtp, out.service == "lmtp", ctx);
        } else {
            ctx.add(node->source(), "'smtp' must be a table, written [listener.smtp]");
        }
        if (out.service != "smtp" && out.service != "lmtp") {
            ctx.add(node->source(), fmt::format("[listener.smtp] belongs to a listener whose service is \"smtp\" "
                                                "or \"lmtp\", but '{}' serves \"{}\"",
                                                out.name, out.service));
        }
    }
    r.finish();

    if (out.tls_mode != tls::mode::none) {
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

void read_plugins(const toml::table& table, plugins_config& out, context& ctx) {
    table_reader r(table, "[plugins]", ctx);
    r.string_list("path", out.path);
    r.string_list("auth", out.auth_order);
    r.string_list("hooks", out.hook_order);
    r.finish();
}

load_result finish_parse(const toml::table& root, context& ctx, const schema& known) {
    daemon_config config;
    config.file = ctx.file;
    table_reader top(root, "the top level", ctx);
    auto sub_table = [&](std::string_view key) -> const toml::table* {
        const toml::node* node = top.node_of(key);
        top.known(key);
        if (node != nullptr && !node->is_table()) {
            ctx.add(node->source(), fmt::format("'{}' must be a table, written [{}]", key, key));
            return nullptr;
        }
        return node != nullptr ? node->as_table() : nullptr;
    };
    if (const auto* t = sub_table("server")) {
        read_server(*t, config.server, ctx);
    }
    if (const auto* t = sub_table("log")) {
        read_log(*t, config.log, ctx);
    }
    if (const auto* t = sub_table("tls")) {
        read_tls(*t, config.tls, ctx);
    }
    if (const auto* t = sub_table("auth")) {
        read_auth(*t, config.auth, ctx);
    }
    if (const auto* t = sub_table("plugins")) {
        read_plugins(*t, config.plugins, ctx);
    }
    std::vector<std::string_view> services(known.services.begin(), known.services.end());
    if (const auto* t = sub_table("plugin")) {
        for (const auto& [key, node] : *t) {
            if (!node.is_table()) {
                ctx.add(node.source(),
                        fmt::format("'plugin.{}' must be a table, written [plugin.{}]", key.str(), key.str()));
                continue;
            }
            auto table = std::make_shared<plugin_table>();
            table->table = *node.as_table();
            config.plugins.sections.push_back({std::string(key.str()), std::move(table)});
        }
        for (const auto& section : config.plugins.sections) {
            services.push_back(section.name);  // a plugin may provide a service of its name
        }
    }
    const schema with_plugins{services};
    if (const toml::node* node = top.node_of("listener")) {
        top.known("listener");
        const auto* array = node->as_array();
        if (array == nullptr || !array->is_array_of_tables()) {
            ctx.add(node->source(), "'listener' must be an array of tables, each written [[listener]]");
        } else {
            std::set<std::string, std::less<>> names;
            for (const auto& element : *array) {
                listener_config listener;
                listener.tls = config.tls.defaults;
                read_listener(*element.as_table(), listener, with_plugins, ctx);
                if (!listener.name.empty() && !names.insert(listener.name).second) {
                    ctx.add(element.source(),
                            fmt::format("a second [[listener]] is named '{}'; names must be unique", listener.name));
                }
                config.listeners.push_back(std::move(listener));
            }
        }
    }
    top.finish();
    if (config.listeners.empty() && ctx.errors.empty()) {
        ctx.errors.push_back({ctx.file, 0, 0, "no [[listener]] is configured: the daemon would serve nothing"});
    }
    load_result result;
    result.errors = std::move(ctx.errors);
    if (result.errors.empty()) {
        result.config = std::move(config);
    }
    return result;
}

}  // namespace

namespace {

class toml_plugin_settings final : public plugin_settings {
  public:
    toml_plugin_settings(std::shared_ptr<const plugin_table> table, const std::string& file, const std::string& name,
                         std::vector<error>& sink)
        : table_(std::move(table)),
          ctx_{file, {}},
          reader_(table_->table, "[plugin." + name + "]", ctx_),
          sink_(sink),
          name_(name) {}

    std::optional<std::string> string(std::string_view key) override {
        return read<std::string>(key, [&](std::string& v) { reader_.string(key, v); });
    }
    std::optional<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max) override {
        return read<std::int64_t>(key, [&](std::int64_t& v) { reader_.integer(key, v, min, max); });
    }
    std::optional<bool> boolean(std::string_view key) override {
        return read<bool>(key, [&](bool& v) { reader_.boolean(key, v); });
    }
    std::optional<std::vector<std::string>> strings(std::string_view key) override {
        return read<std::vector<std::string>>(key, [&](std::vector<std::string>& v) { reader_.string_list(key, v); });
    }
    std::optional<std::chrono::milliseconds> duration(std::string_view key) override {
        return read<std::chrono::milliseconds>(
            key, [&](std::chrono::milliseconds& v) { reader_.duration(key, v, 0ms, std::chrono::hours(24 * 365)); });
    }
    void invalid(std::string_view key, std::string_view what_would_be_right) override {
        ctx_.add(reader_.key_source(key), fmt::format("'{}' in [plugin.{}]: {}", key, name_, what_would_be_right));
    }
    void finish() override {
        reader_.finish();
        sink_.insert(sink_.end(), ctx_.errors.begin(), ctx_.errors.end());
        ctx_.errors.clear();
    }

  private:
    template <class T, class Reader>
    std::optional<T> read(std::string_view key, Reader reader) {
        const bool present = reader_.node_of(key) != nullptr;
        const std::size_t errors_before = ctx_.errors.size();
        T value{};
        reader(value);
        if (!present || ctx_.errors.size() != errors_before) {
            return std::nullopt;
        }
        return value;
    }

    std::shared_ptr<const plugin_table> table_;
    context ctx_;
    table_reader reader_;
    std::vector<error>& sink_;
    std::string name_;
};

}  // namespace

std::unique_ptr<plugin_settings> open_plugin_settings(const daemon_config& config, const plugin_section& section,
                                                      std::vector<error>& errors) {
    static const auto empty = std::make_shared<const plugin_table>();
    return std::make_unique<toml_plugin_settings>(section.table ? section.table : empty, config.file, section.name,
                                                  errors);
}

load_result load_string(std::string_view text, std::string_view source_name, const schema& known) {
    context ctx{std::string(source_name), {}};
    try {
        const toml::table root = toml::parse(text, source_name);
        return finish_parse(root, ctx, known);
    } catch (const toml::parse_error& e) {
        ctx.add(e.source(), std::string(e.description()));
        return {std::nullopt, std::move(ctx.errors)};
    }
}

load_result load_file(const std::string& path, const schema& known) {
    context ctx{path, {}};
    try {
        const toml::table root = toml::parse_file(path);
        return finish_parse(root, ctx, known);
    } catch (const toml::parse_error& e) {
        if (e.source().begin.line == 0) {
            ctx.errors.push_back({path, 0, 0, std::string(e.description())});
        } else {
            ctx.add(e.source(), std::string(e.description()));
        }
        return {std::nullopt, std::move(ctx.errors)};
    }
}

}  // namespace mailwright::config
