// systemd's service notification protocol (sd_notify(3), "The notify protocol"), spoken directly: one
// datagram of newline-separated KEY=VALUE lines to the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or
// an abstract address written with a leading '@'). Everything is a no-op when the variable is unset, as it
// is outside a Type=notify unit.
#pragma once

#include <chrono>
#include <string_view>

namespace mailwrightd::notify {

// Sends `state` as one datagram. False when $NOTIFY_SOCKET is unset or the datagram could not be sent (the
// failure is logged: the service manager would then time the start out, and the log says why).
bool send(std::string_view state);

// READY=1: the listeners accept connections and the plugins are loaded.
void ready();
// RELOADING=1 with MONOTONIC_USEC (systemd 253 and later match it with the reload they asked for); ready()
// follows once the reload is done.
void reloading();
// STOPPING=1: a graceful shutdown has begun.
void stopping();
// WATCHDOG=1: the workers answered (server_options::on_watchdog).
void watchdog();

// How often to send watchdog(): half of $WATCHDOG_USEC, as sd_watchdog_enabled(3) advises, when it is set
// and $WATCHDOG_PID is unset or names this process; zero when no watchdog is asked for.
std::chrono::microseconds watchdog_interval();

}  // namespace mailwrightd::notify
