// mailwrightctl: asks a running mailwrightd over its control socket ([admin] control_socket) what it serves,
// who is connected, and to end sessions or reload. Prints tables for a person, or with --json the daemon's
// reply as it came (control_protocol.hpp).
//
// Exit status: 0 done; 1 the daemon said no (no such session, a reload that did not take); 2 bad usage, or the
// daemon could not be reached.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <cstdio>

#include "client.hpp"
#include "control_protocol.hpp"
#include "mailwright/version.hpp"
#include "print.hpp"

namespace json = boost::json;

namespace {

constexpr std::chrono::seconds reply_timeout{60};  // a reload may take a while; a kick waits 2 s at most

int run(const std::string& socket, const std::string& command, const std::string& argument, bool raw) {
    const std::string request = argument.empty() ? command : command + " " + argument;
    std::string line;
    try {
        line = mailwrightctl::ask(socket, request, reply_timeout);
    } catch (const mailwrightctl::unreachable& e) {
        std::fprintf(stderr, "mailwrightctl: %s\n", e.what());
        return 2;
    }
    std::error_code ec;
    const json::value reply = json::parse(line, ec);
    if (ec || !reply.is_object() || !reply.as_object().contains("ok")) {
        std::fprintf(stderr, "mailwrightctl: %s answered something else than a reply: %.200s\n", socket.c_str(),
                     line.c_str());
        return 2;
    }
    const auto& object = reply.as_object();
    const bool ok = object.at("ok").is_bool() && object.at("ok").as_bool();
    if (raw) {
        std::printf("%s\n", line.c_str());
        return ok ? 0 : 1;
    }
    if (!ok) {
        const json::value* error = object.if_contains("error");
        const std::string why = error != nullptr && error->is_string() ? std::string(error->as_string()) : line;
        std::fprintf(stderr, "mailwrightctl: %s\n", why.c_str());
        return 1;
    }
    mailwrightctl::print(command, argument, object);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"mailwrightctl: see and steer a running mailwrightd over its control socket"};
    app.fallthrough();  // --socket and --json also after the command
    app.require_subcommand(1);
    std::string socket(mailwright::control::default_socket);
    bool raw = false;
    app.add_option("-s,--socket", socket, "The daemon's control socket ([admin] control_socket)")
        ->capture_default_str();
    app.add_flag("--json", raw, "Print the daemon's reply as it came: one JSON object");
    app.set_version_flag("-V,--version", fmt::format("mailwrightctl {}", mailwright::version));

    std::string argument;
    app.add_subcommand("status", "Version, uptime, listeners and plugins");
    app.add_subcommand("sessions", "Open sessions: id, listener, client, user, protocol state, age");
    auto* kick = app.add_subcommand("kick", "End one session (its id from 'sessions')");
    std::uint64_t id = 0;
    kick->add_option("id", id, "The session's id")->required();
    auto* kick_user = app.add_subcommand("kick-user", "End every session of a user");
    kick_user->add_option("user", argument, "The authenticated user's name")->required();
    app.add_subcommand("reload", "Reload the configuration (as SIGHUP does) and say whether it took");
    app.add_subcommand("stats", "Uptime, open sessions in all and per listener, and the daemon's metrics");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e);
        return code == 0 ? 0 : 2;
    }
    const std::string command = app.get_subcommands().front()->get_name();
    if (kick->parsed()) {
        argument = std::to_string(id);
    }
    return run(socket, command, argument, raw);
}
