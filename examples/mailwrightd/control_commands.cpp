// control_commands: the control socket's requests and their JSON replies.
#include "control_commands.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <map>

#include "mailwright/metrics/instruments.hpp"
#include "mailwright/plugin/plugin.hpp"
#include "mailwright/version.hpp"

namespace mailwrightd {

namespace json = boost::json;
using namespace mailwright;

namespace {

constexpr std::string_view commands = "status, sessions, kick ID, kick-user NAME, reload, stats";

std::string reply(json::object object) { return json::serialize(object) + "\n"; }

std::string refuse(std::string_view why) { return reply({{"ok", false}, {"error", why}}); }

std::int64_t uptime(const control_sources& sources) {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - sources.started).count();
}

std::string status(const control_sources& sources) {
    json::array listeners;
    for (const auto& bound : sources.server.bound_endpoints()) {
        listeners.push_back(json::object{{"name", bound.listener}, {"address", bound.endpoint.to_string()}});
    }
    json::array plugins;
    for (const auto& p : sources.plugins ? sources.plugins() : std::vector<plugin::loaded_plugin>{}) {
        plugins.push_back(json::object{
            {"name", p.name}, {"kind", plugin::to_string(p.kind)}, {"version", p.version}, {"origin", p.origin}});
    }
    return reply({{"ok", true},
                  {"version", std::string(version)},
                  {"pid", static_cast<std::int64_t>(::getpid())},
                  {"uptime_seconds", uptime(sources)},
                  {"listeners", std::move(listeners)},
                  {"plugins", std::move(plugins)}});
}

std::string sessions(const control_sources& sources) {
    json::array list;
    for (const auto& s : sources.server.sessions()) {
        list.push_back(json::object{{"id", s.id},
                                    {"listener", s.listener},
                                    {"peer", s.peer.to_string()},
                                    {"user", s.user},
                                    {"state", s.state},
                                    {"age_seconds", std::chrono::duration_cast<std::chrono::seconds>(s.age).count()}});
    }
    return reply({{"ok", true}, {"sessions", std::move(list)}});
}

std::string kick(const control_sources& sources, std::string_view argument) {
    std::uint64_t id = 0;
    const auto [end, ec] = std::from_chars(argument.data(), argument.data() + argument.size(), id);
    if (argument.empty() || ec != std::errc{} || end != argument.data() + argument.size()) {
        return refuse("kick needs a session id, a number from 'sessions'");
    }
    const std::size_t kicked = sources.server.kick(id);
    spdlog::info("control: kick {}: {} session{} asked to end", id, kicked, kicked == 1 ? "" : "s");
    if (kicked == 0) {
        return refuse(fmt::format("no session {}", id));
    }
    return reply({{"ok", true}, {"kicked", kicked}});
}

std::string kick_user(const control_sources& sources, std::string_view user) {
    if (user.empty()) {
        return refuse("kick-user needs a user name");
    }
    const std::size_t kicked = sources.server.kick_user(user);
    spdlog::info("control: kick-user {}: {} session{} asked to end", user, kicked, kicked == 1 ? "" : "s");
    return reply({{"ok", true}, {"kicked", kicked}});
}

std::string reload(const control_sources& sources) {
    if (!sources.reload) {
        return refuse("this daemon cannot reload");
    }
    spdlog::info("control: reloading");
    const reload_outcome result = sources.reload();
    if (!result.ok) {
        return refuse(result.message);
    }
    return reply({{"ok", true}, {"message", result.message}});
}

// The metrics registry's samples (what the metrics endpoint serves), "name{labels}" to value, in its order;
// histograms by their _sum and _count only, their buckets being for Prometheus to read.
json::object metric_samples() {
    json::object samples;
    const std::string text = metrics::process_registry().expose();
    std::string_view rest = text;
    while (!rest.empty()) {
        const auto end = rest.find('\n');
        const std::string_view line = rest.substr(0, end);
        rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
        const auto space = line.rfind(' ');
        if (line.empty() || line.front() == '#' || space == std::string_view::npos) {
            continue;
        }
        const std::string_view series = line.substr(0, space);
        if (series.substr(0, series.find('{')).ends_with("_bucket")) {
            continue;
        }
        const std::string value(line.substr(space + 1));
        char* parsed_end = nullptr;
        const double number = std::strtod(value.c_str(), &parsed_end);
        if (parsed_end == value.c_str() + value.size() && std::isfinite(number)) {
            samples[series] = number == static_cast<double>(static_cast<std::int64_t>(number))
                                  ? json::value(static_cast<std::int64_t>(number))
                                  : json::value(number);
        } else {
            samples[series] = value;  // +Inf, NaN
        }
    }
    return samples;
}

std::string stats(const control_sources& sources) {
    std::map<std::string, std::int64_t> open;  // every listener, the idle ones with 0
    for (const auto& bound : sources.server.bound_endpoints()) {
        open[bound.listener] = 0;
    }
    const auto list = sources.server.sessions();
    for (const auto& s : list) {
        ++open[s.listener];
    }
    json::object by_listener;
    for (const auto& [name, count] : open) {
        by_listener[name] = count;
    }
    return reply({{"ok", true},
                  {"uptime_seconds", uptime(sources)},
                  {"sessions", json::object{{"open", list.size()}, {"by_listener", std::move(by_listener)}}},
                  {"metrics", metric_samples()}});
}

}  // namespace

std::string answer(const control_sources& sources, std::string_view request) {
    if (!request.empty() && request.back() == '\r') {
        request.remove_suffix(1);
    }
    const auto space = request.find(' ');
    const std::string_view command = request.substr(0, space);
    std::string_view argument = space == std::string_view::npos ? std::string_view{} : request.substr(space + 1);
    while (!argument.empty() && argument.front() == ' ') {
        argument.remove_prefix(1);
    }
    try {
        if (command == "status" && argument.empty()) {
            return status(sources);
        }
        if (command == "sessions" && argument.empty()) {
            return sessions(sources);
        }
        if (command == "kick") {
            return kick(sources, argument);
        }
        if (command == "kick-user") {
            return kick_user(sources, argument);
        }
        if (command == "reload" && argument.empty()) {
            return reload(sources);
        }
        if (command == "stats" && argument.empty()) {
            return stats(sources);
        }
    } catch (const std::exception& e) {
        spdlog::error("control: {} failed: {}", command, e.what());
        return refuse(fmt::format("{} failed: {}", command, e.what()));
    }
    return refuse(fmt::format("unknown request '{}'; the requests are: {}", request.substr(0, 64), commands));
}

}  // namespace mailwrightd
