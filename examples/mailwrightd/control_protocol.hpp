// The control socket's protocol, shared by mailwrightd (control_socket.cpp, control_commands.cpp) and
// mailwrightctl. A client sends one request a line, "COMMAND [ARGUMENT]\n", and reads one reply a line: a JSON
// object with "ok": true and the answer's fields, or "ok": false and "error". A connection may carry several
// requests, one after the other.
//
//   status            {"ok":true,"version":..,"pid":..,"uptime_seconds":..,"listeners":[{"name","address"}],
//                      "plugins":[{"name","kind","version","origin"}]}
//   sessions          {"ok":true,"sessions":[{"id","listener","peer","user","state","age_seconds"}]}
//   kick ID           {"ok":true,"kicked":1}, or "ok":false when no session has that id
//   kick-user NAME    {"ok":true,"kicked":N} (N may be 0)
//   reload            {"ok":true,"message":..}, or "ok":false with the reason in "error"
//   stats             {"ok":true,"uptime_seconds":..,"sessions":{"open":N,"by_listener":{"name":N}},
//                      "metrics":{"mailwright_..._total{listener=\"mx\"}":N,...}} (the metrics registry's samples)
#pragma once

#include <chrono>
#include <cstddef>
#include <string_view>

namespace mailwright::control {

// Where an installed mailwrightctl looks, and where the shipped configuration puts it ([admin]
// control_socket); /run/mailwright is the unit's RuntimeDirectory.
inline constexpr std::string_view default_socket = "/run/mailwright/control.sock";

// A request line, its newline included. Longer ones are refused and the connection closed.
inline constexpr std::size_t max_request = 1024;

// How long the daemon waits for a request (and for its reply to be taken) before it closes the connection.
inline constexpr std::chrono::seconds request_timeout{10};

// Clients served at once; more are refused with an error reply. An administrator needs a few, not many.
inline constexpr std::size_t max_clients = 8;

}  // namespace mailwright::control
