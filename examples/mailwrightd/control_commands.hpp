// What the control socket answers: one request line in, one JSON reply line out (control_protocol.hpp).
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "generation.hpp"
#include "mailwright/plugin/host.hpp"
#include "mailwright/server/server.hpp"

namespace mailwrightd {

// Where the answers come from. Everything is called on the admin thread.
struct control_sources {
    mailwright::server::server& server;
    // The plugins serving now (a reload may bring another host).
    std::function<std::vector<mailwright::plugin::loaded_plugin>()> plugins;
    std::function<reload_outcome()> reload;  // configuration_keeper::reload()
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

// The reply to one request line (without its newline): a JSON object, newline included.
std::string answer(const control_sources& sources, std::string_view request);

}  // namespace mailwrightd
