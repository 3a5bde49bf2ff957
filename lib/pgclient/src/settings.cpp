// [plugin.<name>] keys of a PostgreSQL client (settings.hpp), and the reconnection back-off.
#include "mailwright/pgclient/settings.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <utility>

namespace mailwright::pgclient {

namespace {

// Whether libpq can read `conninfo`; its message when it cannot.
std::string conninfo_problem(const std::string& conninfo) {
    char* error = nullptr;
    PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
    std::string problem;
    if (options == nullptr) {
        problem = error != nullptr ? error : "libpq cannot read it (out of memory?)";
        while (!problem.empty() && problem.back() == '\n') {
            problem.pop_back();
        }
    }
    PQconninfoFree(options);
    PQfreemem(error);
    return problem;
}

}  // namespace

std::optional<settings> read_settings(plugin::settings& config) {
    settings s;
    // Every key is read before any is judged: one returned from early would be reported as unknown.
    const auto conninfo = config.string("conninfo");
    s.pool_size = static_cast<std::size_t>(config.integer("pool_size", 1, 64).value_or(4));
    const std::pair<const char*, std::chrono::milliseconds*> durations[] = {{"connect_timeout", &s.connect_timeout},
                                                                            {"query_timeout", &s.query_timeout},
                                                                            {"reconnect_min", &s.reconnect_min},
                                                                            {"reconnect_max", &s.reconnect_max}};
    bool ok = true;
    for (const auto& [key, value] : durations) {
        const auto d = config.duration(key);
        if (d && d->count() <= 0) {
            config.invalid(key, "a duration above zero, e.g. \"5s\"");
            ok = false;
        }
        *value = d.value_or(*value);
    }
    if (!conninfo || conninfo->empty()) {
        config.invalid("conninfo",
                       "libpq's connection string, e.g. conninfo = \"host=127.0.0.1 dbname=mail user=mailwright\" "
                       "or a postgresql:// URI");
        ok = false;
    } else if (const auto problem = conninfo_problem(*conninfo); !problem.empty()) {
        config.invalid("conninfo", "a connection string libpq can read (" + problem + ")");
        ok = false;
    } else {
        s.conninfo = *conninfo;
    }
    if (s.reconnect_min > s.reconnect_max) {
        config.invalid("reconnect_max", "a pause at least as long as reconnect_min");
        ok = false;
    }
    return ok ? std::optional(s) : std::nullopt;
}

void backoff::failed(clock::time_point now) noexcept {
    delay_ = delay_.count() == 0 ? min_ : std::min(max_, delay_ * 2);
    not_before_ = now + delay_;
}

}  // namespace mailwright::pgclient
