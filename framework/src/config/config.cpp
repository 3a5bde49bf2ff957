// TOML -> typed configuration, with every error located (file:line:column) and explained: the file as a
// whole, its top level and the small tables. [tls] is read in tls.cpp, [[listener]] in listener.cpp, plugin
// tables in plugin_settings.cpp; the table reader they all use is table_reader.cpp.
#include "mailwright/config/config.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <charconv>
#include <set>

#include "readers.hpp"

namespace mailwright::config {

std::string error::to_string() const {
    if (line == 0) {
        return fmt::format("{}: {}", file, message);
    }
    return fmt::format("{}:{}:{}: {}", file, line, column, message);
}

log::settings log_settings(const log_config& c) {
    return {
        .threshold = log::parse_level(c.level).value_or(log::level::info), .style = c.format, .destination = c.output};
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

std::optional<listen_address> parse_listen_address(std::string_view text) {
    listen_address out{"127.0.0.1", 0};
    std::string_view port = text;
    int family = AF_INET;
    if (text.starts_with('[')) {
        const auto close = text.find("]:");
        if (close == std::string_view::npos) {
            return std::nullopt;
        }
        out.address = std::string(text.substr(1, close - 1));
        port = text.substr(close + 2);
        family = AF_INET6;
    } else if (const auto colon = text.rfind(':'); colon != std::string_view::npos) {
        out.address = std::string(text.substr(0, colon));
        port = text.substr(colon + 1);
    }
    in6_addr parsed{};  // large enough for either family
    if (out.address.find('\0') != std::string::npos || ::inet_pton(family, out.address.c_str(), &parsed) != 1) {
        return std::nullopt;  // also an IPv6 address without brackets: its colons would be ambiguous
    }
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), out.port);
    if (ec != std::errc{} || end != port.data() + port.size() || port.empty()) {
        return std::nullopt;
    }
    return out;
}

namespace {

using namespace std::chrono_literals;

void read_server(const toml::table& table, server_config& out, context& ctx) {
    table_reader r(table, "[server]", ctx);
    r.integer("workers", out.workers, 0, 256);
    r.integer("blocking_threads", out.blocking_threads, 1, 1024);
    r.integer("hashing_threads", out.hashing_threads, 0, 1024);
    r.integer("hashing_queue", out.hashing_queue, 0, 100'000);
    r.duration("hashing_wait", out.hashing_wait, 0ms, 1min);
    r.integer("max_connections", out.max_connections, 1, 1'000'000);
    r.integer("max_connections_per_ip", out.max_connections_per_ip, 1, 1'000'000);
    r.integer("ipv6_prefix", out.ipv6_prefix, 16, 128);
    r.duration("shutdown_grace", out.shutdown_grace, 0ms, 1h);
    r.path("state_dir", out.state_dir);
    r.string("hostname", out.hostname);
    r.string("user", out.user);
    r.string("group", out.group);
    r.finish();
    if (out.user.empty() && !out.group.empty()) {
        ctx.add(table.source(), "'group' in [server] needs 'user': the daemon changes its group only with its user");
    }
}

void read_admin(const toml::table& table, admin_config& out, context& ctx) {
    table_reader r(table, "[admin]", ctx);
    r.path("control_socket", out.control_socket);
    r.string("metrics", out.metrics);
    r.finish();
    if (!out.metrics.empty() && !parse_listen_address(out.metrics)) {
        r.invalid("metrics",
                  "must be \"address:port\" with a numeric address (\"127.0.0.1:9325\", \"[::1]:9325\"), "
                  "or a port alone (\"9325\", on 127.0.0.1)");
    }
}

void read_auth(const toml::table& table, auth_config& out, context& ctx) {
    table_reader r(table, "[auth]", ctx);
    r.duration("failure_delay", out.failure_delay, 0ms, 1min);
    r.duration("failure_delay_max", out.failure_delay_max, 0ms, 10min);
    r.duration("cache_ttl", out.cache_ttl, 0ms, 24h);
    r.integer("cache_size", out.cache_size, 0, 10'000'000);
    r.finish();
    if (out.failure_delay_max < out.failure_delay) {
        ctx.add(table.source(), "'failure_delay_max' in [auth] must not be shorter than 'failure_delay'");
    }
}

void read_log(const toml::table& table, log_config& out, context& ctx) {
    table_reader r(table, "[log]", ctx);
    r.choice("level", out.level, {"trace", "debug", "info", "warn", "error", "off"});
    r.choice("format", out.format, {{"text", log::format::text}, {"json", log::format::json}});
    r.choice("output", out.output,
             {{"stderr", log::output::standard_error},
              {"syslog", log::output::syslog},
              {"journald", log::output::journald}});
    r.finish();
}

void read_plugins(const toml::table& table, plugins_config& out, context& ctx) {
    table_reader r(table, "[plugins]", ctx);
    r.strings("path", out.path);
    r.strings("auth", out.auth_order);
    r.strings("hooks", out.hook_order);
    for (const auto& dir : out.path) {
        if (ctx.absolute_paths && !dir.empty() && dir.front() != '/') {
            ctx.add(r.key_source("path"), fmt::format("'path' in [plugins] must list absolute paths in an installed "
                                                      "configuration, not \"{}\"",
                                                      dir));
        }
    }
    r.finish();
}

// A top-level key that must be a table, as a table; nullptr when absent or not a table (then reported).
const toml::table* sub_table(table_reader& top, std::string_view key) {
    const toml::node* node = top.node_of(key);
    top.known(key);
    if (node != nullptr && !node->is_table()) {
        top.errors().add(node->source(), fmt::format("'{}' must be a table, written [{}]", key, key));
        return nullptr;
    }
    return node != nullptr ? node->as_table() : nullptr;
}

// [plugin.<name>]: kept for the plugin to read when it initialises (open_plugin_settings).
void keep_plugin_tables(const std::shared_ptr<const toml::table>& root, const toml::table& tables, plugins_config& out,
                        context& ctx) {
    for (const auto& [key, node] : tables) {
        if (!node.is_table()) {
            ctx.add(node.source(),
                    fmt::format("'plugin.{}' must be a table, written [plugin.{}]", key.str(), key.str()));
            continue;
        }
        auto table = std::make_shared<plugin_table>(plugin_table{root, node.as_table()});
        out.sections.push_back({std::string(key.str()), std::move(table)});
    }
}

// [[listener]], each on top of the [tls] settings; a plugin may provide a service of its name.
void read_listeners(const toml::node& node, daemon_config& config, const schema& known, context& ctx) {
    const auto* array = node.as_array();
    if (array == nullptr || !array->is_array_of_tables()) {
        ctx.add(node.source(), "'listener' must be an array of tables, each written [[listener]]");
        return;
    }
    std::vector<std::string_view> services(known.services.begin(), known.services.end());
    for (const auto& section : config.plugins.sections) {
        services.push_back(section.name);
    }
    const schema with_plugins{services, known.sections};
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

load_result finish_parse(const std::shared_ptr<const toml::table>& parsed, context& ctx, const schema& known) {
    const toml::table& root = *parsed;
    daemon_config config;
    config.file = ctx.file;
    table_reader top(root, "the top level", ctx);
    if (const auto* t = sub_table(top, "server")) {
        read_server(*t, config.server, ctx);
    }
    if (const auto* t = sub_table(top, "log")) {
        read_log(*t, config.log, ctx);
    }
    if (const auto* t = sub_table(top, "tls")) {
        read_tls(*t, config.tls, ctx);
    }
    if (const auto* t = sub_table(top, "auth")) {
        read_auth(*t, config.auth, ctx);
    }
    if (const auto* t = sub_table(top, "admin")) {
        read_admin(*t, config.admin, ctx);
    }
    if (const auto* t = sub_table(top, "plugins")) {
        read_plugins(*t, config.plugins, ctx);
    }
    if (const auto* t = sub_table(top, "plugin")) {
        keep_plugin_tables(parsed, *t, config.plugins, ctx);
    }
    if (const toml::node* node = top.node_of("listener")) {
        top.known("listener");
        read_listeners(*node, config, known, ctx);
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

load_result load_string(std::string_view text, std::string_view source_name, const schema& known) {
    context ctx{std::string(source_name), {}, known.absolute_paths};
    try {
        // Moved, not copied, into shared ownership: a moved table keeps its source positions.
        return finish_parse(std::make_shared<const toml::table>(toml::parse(text, source_name)), ctx, known);
    } catch (const toml::parse_error& e) {
        ctx.add(e.source(), std::string(e.description()));
        return {std::nullopt, std::move(ctx.errors)};
    }
}

load_result load_file(const std::string& path, const schema& known) {
    context ctx{path, {}, known.absolute_paths};
    try {
        return finish_parse(std::make_shared<const toml::table>(toml::parse_file(path)), ctx, known);
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
