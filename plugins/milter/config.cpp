// [plugin.milter]: reading and checking the list of milters.
#include "config.hpp"

#include <algorithm>
#include <array>

namespace mailwright::milter {

namespace {

constexpr std::array<std::string_view, 3> known_services = {"smtp", "submission", "lmtp"};

void read_one(plugin::settings& table, std::size_t number, std::vector<milter_settings>& out) {
    milter_settings m;
    m.name = table.string("name").value_or("milter" + std::to_string(number));
    const auto address = table.string("address");
    std::optional<net::endpoint> where;
    std::string error;
    if (address) {
        where = parse_address(*address, &error);
    }
    if (!where) {
        table.invalid("address", address ? "is not a milter address (" + error +
                                               "), e.g. \"inet:127.0.0.1:8891\" "
                                               "or \"unix:/run/milter.sock\""
                                         : "is required: where the milter listens, e.g. \"inet:127.0.0.1:8891\"");
    } else {
        m.address = std::move(*where);
    }
    const std::pair<const char*, std::chrono::milliseconds*> timeouts[] = {{"connect_timeout", &m.connect_timeout},
                                                                           {"command_timeout", &m.command_timeout},
                                                                           {"end_timeout", &m.end_timeout}};
    for (const auto& [key, value] : timeouts) {
        if (const auto d = table.duration(key); d && d->count() == 0) {
            table.invalid(key, "must be longer than 0, e.g. \"10s\"");
        } else if (d) {
            *value = *d;
        }
    }
    const auto action = table.string("default_action").value_or("tempfail");
    if (action == "tempfail" || action == "accept") {
        m.default_action = action == "accept" ? fallback::accept : fallback::tempfail;
    } else {
        table.invalid("default_action",
                      "must be \"tempfail\" or \"accept\" (what to do when the milter cannot "
                      "be asked)");
    }
    m.replace_body = table.boolean("replace_body").value_or(false);
    m.services = table.strings("services").value_or(std::vector<std::string>{});
    for (const auto& s : m.services) {
        if (std::find(known_services.begin(), known_services.end(), s) == known_services.end()) {
            table.invalid("services", "must list some of \"smtp\", \"submission\" and \"lmtp\"");
            break;
        }
    }
    out.push_back(std::move(m));
}

}  // namespace

std::optional<net::endpoint> parse_address(std::string_view text, std::string* error) {
    if (text.starts_with("local:")) {
        text.remove_prefix(6);
        return net::endpoint::parse("unix:" + std::string(text), error);
    }
    if (text.starts_with("unix:")) {
        return net::endpoint::parse(text, error);
    }
    if (text.starts_with("inet:") || text.starts_with("inet6:")) {
        text.remove_prefix(text.find(':') + 1);
        // Postfix's and Sendmail's "port@host" ("inet:8891@localhost", "inet6:8891@[::1]").
        if (const auto at = text.find('@'); at != std::string_view::npos) {
            std::string host(text.substr(at + 1));
            if (host.find(':') != std::string::npos && !host.starts_with("[")) {
                host = "[" + host + "]";
            }
            return net::endpoint::parse(host + ":" + std::string(text.substr(0, at)), error);
        }
    }
    return net::endpoint::parse(text, error);
}

std::vector<milter_settings> read_settings(plugin::settings& config) {
    std::vector<milter_settings> out;
    const auto tables = config.tables("milters");
    for (std::size_t i = 0; i < tables.size(); ++i) {
        read_one(*tables[i].table, i + 1, out);
    }
    if (tables.empty()) {
        config.invalid("milters", "needs at least one milter: [[plugin.milter.milters]] with its address");
    }
    return out;
}

}  // namespace mailwright::milter
