// The framework's own metrics: what the server, the sessions, the plugin host, the blocking and compute pools
// and the credential cache count,
// in one process-wide registry that mailwrightd's metrics endpoint serves (docs/operations.md, "Metrics").
// Each function here is what one place in the framework calls, in one line.
//
// Label values come only from bounded sets: a listener's name and a service's name (the configuration's),
// a plugin's name and the name of the call (the framework's), a SASL mechanism the framework implements, a
// fixed outcome. Nothing a client sends becomes a label value.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "mailwright/metrics/registry.hpp"

namespace mailwright::metrics {

// The process's registry, with every family below registered (on first use, before any is counted).
registry& process_registry();

// A listener's series at zero (connections, refusals, TLS handshakes), so a scrape shows them before the first
// connection. Listeners not declared get theirs at their first connection.
void declare_listener(std::string_view listener, bool tls);

// A connection admitted past the limits, and its session: counted when made; the listener's and the
// protocol's open gauges count it for as long as it lives.
class open_session {
  public:
    open_session(std::string_view listener, std::string_view protocol);
    open_session(const open_session&) = delete;
    open_session& operator=(const open_session&) = delete;
    ~open_session();

  private:
    gauge& listener_open_;
    gauge& protocol_open_;
};

// A connection refused because `total_limit` ([server] max_connections) or the per-address limit was reached.
void count_refused_connection(std::string_view listener, bool total_limit);

// A connection to a PROXY protocol listener, by what became of its header: accepted, untrusted (the peer is not
// in proxy_trusted), malformed, timeout (incomplete when proxy_timeout passed), closed (the peer left first).
enum class proxy_outcome { accepted, untrusted, malformed, timeout, closed };
void count_proxy_header(std::string_view listener, proxy_outcome outcome);

// A TLS handshake (implicit TLS, STARTTLS, STLS) and whether it completed.
void count_tls_handshake(std::string_view listener, bool succeeded);

// A login's verdict on the credentials: ok, failed (wrong or unknown), tempfail (the backend could not decide).
// `mechanism`: a SASL mechanism, or "USER" (POP3 USER/PASS) or "APOP"; any other name counts as "other".
enum class login_outcome { ok, failed, tempfail };
void count_login(std::string_view mechanism, login_outcome outcome);

// A message's outcome as its final reply says it (2yz accepted, 4yz tempfailed, 5yz refused), with the octets
// of its data as received. `service`: "smtp", "submission" or "lmtp".
enum class message_outcome { accepted, refused, tempfailed };
message_outcome outcome_of_reply(std::string_view reply) noexcept;
void count_message(std::string_view service, message_outcome outcome, std::uint64_t octets);

// A caller of io::compute() answered busy: the compute pool had no place within its wait.
void count_compute_refused();

// The verified-credentials cache (sasl::check_password): a lookup that hit or missed, entries evicted for room.
enum class cache_event { hit, miss, eviction };
void count_credential_cache(cache_event event, std::uint64_t count = 1);

// Times one call into a plugin, from construction to destruction (also when the call throws).
class plugin_call_timer {
  public:
    plugin_call_timer(std::string_view plugin, std::string_view call);
    plugin_call_timer(const plugin_call_timer&) = delete;
    plugin_call_timer& operator=(const plugin_call_timer&) = delete;
    ~plugin_call_timer();

  private:
    histogram& histogram_;
    std::chrono::steady_clock::time_point started_;
};

}  // namespace mailwright::metrics
