// The POP3 service (RFC 1939 with RFC 2449 CAPA and response codes, RFC 2595 STLS, RFC 3206, RFC 5034 SASL,
// RFC 6856 UTF8, RFC 8314 implicit TLS). One coroutine per client: the dialogue in src/pop3/session.cpp reads
// as the RFC does. The command parser (command.hpp) and the state table (state.hpp) hold the rules; the
// session asks them before it acts.
//
// What a service needs from outside comes in `environment`: the auth chain, the mailstore, the failed-login
// penalties, the POP3 hooks. The stock daemon fills it from its plugins; an embedder fills it from its own.
// The keys of a listener's [listener.pop3] table are the service's too: read_settings() (src/pop3/settings.cpp)
// reads them into `options`, whose defaults are the only ones.
#pragma once

#include <asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "mailwright/config/section.hpp"
#include "mailwright/plugin/auth.hpp"
#include "mailwright/plugin/hook.hpp"
#include "mailwright/plugin/mailstore.hpp"
#include "mailwright/sasl/penalty.hpp"
#include "mailwright/server/service.hpp"

namespace mailwright::pop3 {

struct options {
    // SASL mechanisms this listener may offer; sasl::offered() narrows them to what the connection allows now.
    std::vector<std::string> mechanisms{"PLAIN", "LOGIN"};
    // USER/PASS, PLAIN and LOGIN on a connection without TLS. Off: a password never crosses the wire in the
    // clear unless the administrator says so (RFC 2595 2.1).
    bool plaintext_auth = false;
    // No authentication of any kind (SCRAM and APOP included) before STLS: the mail a login unlocks would
    // then be read in the clear (Dovecot's ssl = required). mailwrightd sets it on STARTTLS listeners.
    bool auth_requires_tls = false;
    // APOP (RFC 1939 7). Off: it needs a plaintext-equivalent secret and MD5 is broken (CVE-2007-1558).
    bool apop = false;
    // After this many failed logins the connection is closed (Stalwart, Dovecot: a few attempts, then go).
    unsigned max_auth_failures = 3;
    // Unknown commands, syntax errors and commands in the wrong state tolerated before the connection is
    // closed (Dovecot's pop3-login closes after 3; a little more room for clients that probe).
    unsigned max_bad_commands = 5;
    // Minimum time between two logins of one user (RFC 2449 LOGIN-DELAY); zero: not enforced, not advertised.
    std::chrono::seconds login_delay{0};
    // What CAPA says of the server's own deletion policy (RFC 2449 EXPIRE): "NEVER", or a number of days
    // that an expiry job outside the server enforces. Empty: not advertised.
    std::string expire = "NEVER";
    // CAPA IMPLEMENTATION; empty hides it.
    std::string implementation = "Mailwright";
    // The host name in the APOP timestamp and the CRAM-MD5 challenge.
    std::string hostname = "localhost";
};

// [listener.pop3] (docs/configuration.md): options{} with what the table says on top, checked; mistakes are
// reported through `section`. Sets apop, login_delay, expire and implementation; the rest comes from the
// listener's common keys and the daemon.
options read_settings(config::section_reader& section);

// The last login of each user, for LOGIN-DELAY. One table for every POP3 listener of a process (a user must
// not dodge the delay by switching ports); one mutex.
class login_times {
  public:
    // Records a login of `user` now, or returns false (recording nothing) when the previous one was less
    // than `delay` ago.
    bool try_login(std::string_view user, std::chrono::seconds delay);

  private:
    std::mutex mutex_;
    std::unordered_map<std::string, std::chrono::steady_clock::time_point> last_;
};

struct environment {
    plugin::auth_backend* auth = nullptr;            // required
    std::shared_ptr<plugin::mailstore> store;        // required
    std::shared_ptr<sasl::failure_penalty> penalty;  // null: failures are answered at once
    std::shared_ptr<login_times> logins;             // null: the service keeps its own
    // The POP3 hooks (login, retrieve, remove); empty: every event is accepted.
    std::function<asio::awaitable<plugin::reply>(plugin::pop3_event, const plugin::event_context&)> hooks;
};

class service final : public server::service {
  public:
    service(options o, environment env);

    std::string_view name() const override { return "pop3"; }
    // RFC 2449 4: a command line of at least 255 octets; SASL responses get room up to 1 KiB.
    io::line_limits default_line_limits() const override { return {.max_line = 1024}; }
    // RFC 1939 3: an autologout timer of at least 10 minutes.
    std::chrono::milliseconds default_read_timeout() const override { return std::chrono::minutes(10); }
    asio::awaitable<void> serve(server::session& s) override;
    std::string refusal_line(server::refusal why) const override;

    const options& settings() const noexcept;
    const environment& env() const noexcept;
    login_times& logins() noexcept;

  private:
    options options_;
    environment env_;
};

}  // namespace mailwright::pop3
