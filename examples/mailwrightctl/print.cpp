// print: tables with columns as wide as their widest cell.
#include "print.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <vector>

namespace mailwrightctl {

namespace json = boost::json;

namespace {

using row = std::vector<std::string>;

// Columns separated by two spaces, each as wide as its widest cell; the last one not padded.
void table(const row& header, const std::vector<row>& rows, std::string_view indent = "") {
    std::vector<std::size_t> width(header.size());
    for (std::size_t i = 0; i < header.size(); ++i) {
        width[i] = header[i].size();
        for (const auto& r : rows) {
            width[i] = std::max(width[i], r[i].size());
        }
    }
    auto line = [&](const row& r) {
        std::string text(indent);
        for (std::size_t i = 0; i < r.size(); ++i) {
            text += i + 1 < r.size() ? fmt::format("{:<{}}  ", r[i], width[i]) : r[i];
        }
        std::puts(text.c_str());
    };
    line(header);
    for (const auto& r : rows) {
        line(r);
    }
}

// Control characters as '?': a terminal must not take a user name for a command.
std::string printable(std::string_view text) {
    std::string s(text);
    for (char& c : s) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
            c = '?';
        }
    }
    return s;
}

// A value as text: strings printable, numbers in decimal, absent, null or empty as "-".
std::string text(const json::value* v) {
    if (v == nullptr || v->is_null()) {
        return "-";
    }
    if (!v->is_string()) {
        return json::serialize(*v);
    }
    return v->as_string().empty() ? "-" : printable(v->as_string());
}

std::string text(const json::object& o, std::string_view key) { return text(o.if_contains(key)); }

std::int64_t number(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr) {
        return 0;
    }
    if (v->is_uint64()) {
        return static_cast<std::int64_t>(v->as_uint64());
    }
    return v->is_int64() ? v->as_int64() : 0;
}

const json::array& array(const json::object& o, std::string_view key) {
    static const json::array none;
    const json::value* v = o.if_contains(key);
    return v != nullptr && v->is_array() ? v->as_array() : none;
}

void status(const json::object& reply) {
    std::printf("mailwrightd %s, pid %lld, up %s\n", text(reply, "version").c_str(),
                static_cast<long long>(number(reply, "pid")), duration(number(reply, "uptime_seconds")).c_str());
    std::vector<row> listeners;
    for (const auto& l : array(reply, "listeners")) {
        listeners.push_back({text(l.as_object(), "name"), text(l.as_object(), "address")});
    }
    std::puts("\nlisteners:");
    table({"NAME", "ADDRESS"}, listeners, "  ");
    std::vector<row> plugins;
    for (const auto& p : array(reply, "plugins")) {
        const auto& o = p.as_object();
        plugins.push_back({text(o, "name"), text(o, "kind"), text(o, "version"), text(o, "origin")});
    }
    std::puts("\nplugins:");
    table({"NAME", "KIND", "VERSION", "ORIGIN"}, plugins, "  ");
}

void sessions(const json::object& reply) {
    std::vector<row> rows;
    for (const auto& s : array(reply, "sessions")) {
        const auto& o = s.as_object();
        rows.push_back({text(o, "id"), text(o, "listener"), text(o, "peer"), text(o, "user"), text(o, "state"),
                        duration(number(o, "age_seconds"))});
    }
    table({"ID", "LISTENER", "PEER", "USER", "STATE", "AGE"}, rows);
    if (rows.empty()) {
        std::puts("(no sessions)");
    }
}

void stats(const json::object& reply) {
    std::vector<row> rows{{"uptime", duration(number(reply, "uptime_seconds"))}};
    if (const json::value* s = reply.if_contains("sessions"); s != nullptr && s->is_object()) {
        rows.push_back({"sessions open", text(s->as_object(), "open")});
        if (const json::value* by = s->as_object().if_contains("by_listener"); by != nullptr && by->is_object()) {
            for (const auto& [name, count] : by->as_object()) {
                rows.push_back({fmt::format("sessions open on {}", printable(name)), text(&count)});
            }
        }
    }
    if (const json::value* m = reply.if_contains("metrics"); m != nullptr && m->is_object()) {
        for (const auto& [series, value] : m->as_object()) {
            rows.push_back({printable(series), text(&value)});
        }
    }
    table({"STATISTIC", "VALUE"}, rows);
}

}  // namespace

std::string duration(std::int64_t seconds) {
    if (seconds < 60) {
        return fmt::format("{}s", seconds);
    }
    if (seconds < 3600) {
        return fmt::format("{}m {:02}s", seconds / 60, seconds % 60);
    }
    if (seconds < 86400) {
        return fmt::format("{}h {:02}m", seconds / 3600, seconds % 3600 / 60);
    }
    return fmt::format("{}d {}h", seconds / 86400, seconds % 86400 / 3600);
}

void print(std::string_view command, std::string_view argument, const json::object& reply) {
    if (command == "status") {
        status(reply);
    } else if (command == "sessions") {
        sessions(reply);
    } else if (command == "stats") {
        stats(reply);
    } else if (command == "kick") {
        std::printf("session %.*s asked to end\n", static_cast<int>(argument.size()), argument.data());
    } else if (command == "kick-user") {
        const std::int64_t n = number(reply, "kicked");
        std::printf("%lld session%s of %.*s asked to end\n", static_cast<long long>(n), n == 1 ? "" : "s",
                    static_cast<int>(argument.size()), argument.data());
    } else {
        std::printf("%s\n", text(reply, "message").c_str());
    }
}

}  // namespace mailwrightctl
