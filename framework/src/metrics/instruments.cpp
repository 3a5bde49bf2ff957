// The framework's own metrics: see the header. Their names, help texts and labels are listed for
// administrators in docs/configuration.md ([admin] metrics).
#include "mailwright/metrics/instruments.hpp"

#include <algorithm>
#include <array>

#include "mailwright/io/compute.hpp"
#include "mailwright/io/offload.hpp"
#include "mailwright/sasl/check_password.hpp"

namespace mailwright::metrics {

namespace {

// Plugin calls run from a few microseconds (a map lookup) to seconds (a milter, a next hop over the network,
// a password hash): the buckets cover both ends.
const std::vector<double> call_buckets{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                       0.1,    0.25,    0.5,    1,     2.5,    5,     10,   30};

// The names a login's mechanism label may take: what sasl:: implements, and POP3's own two.
constexpr std::array<std::string_view, 12> mechanisms{"PLAIN",         "LOGIN",
                                                      "CRAM-MD5",      "EXTERNAL",
                                                      "SCRAM-SHA-1",   "SCRAM-SHA-1-PLUS",
                                                      "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS",
                                                      "OAUTHBEARER",   "XOAUTH2",
                                                      "USER",          "APOP"};

std::string_view name_of(login_outcome o) {
    switch (o) {
        case login_outcome::ok:
            return "ok";
        case login_outcome::failed:
            return "failed";
        case login_outcome::tempfail:
            return "tempfail";
    }
    return "failed";
}

std::string_view name_of(message_outcome o) {
    switch (o) {
        case message_outcome::accepted:
            return "accepted";
        case message_outcome::refused:
            return "refused";
        case message_outcome::tempfailed:
            return "tempfailed";
    }
    return "refused";
}

std::string_view name_of(proxy_outcome o) {
    switch (o) {
        case proxy_outcome::accepted:
            return "accepted";
        case proxy_outcome::untrusted:
            return "untrusted";
        case proxy_outcome::malformed:
            return "malformed";
        case proxy_outcome::timeout:
            return "timeout";
        case proxy_outcome::closed:
            return "closed";
    }
    return "malformed";
}

struct instruments {
    registry all;
    counter_family& accepted = all.add_counter("mailwright_connections_accepted_total",
                                               "Connections admitted past the connection limits.", {"listener"});
    counter_family& refused =
        all.add_counter("mailwright_connections_refused_total",
                        "Connections refused by a connection limit (limit: total or per_ip).", {"listener", "limit"});
    counter_family& proxy_headers = all.add_counter(
        "mailwright_proxy_headers_total",
        "Connections to PROXY protocol listeners by what became of the header (accepted, untrusted, malformed, "
        "timeout, closed).",
        {"listener", "outcome"});
    gauge_family& open = all.add_gauge("mailwright_connections_open", "Connections being served.", {"listener"});
    counter_family& sessions =
        all.add_counter("mailwright_sessions_total", "Sessions started, by the protocol served.", {"protocol"});
    gauge_family& sessions_open =
        all.add_gauge("mailwright_sessions_open", "Sessions running, by the protocol served.", {"protocol"});
    counter_family& handshakes = all.add_counter("mailwright_tls_handshakes_total",
                                                 "TLS handshakes begun (implicit TLS, STARTTLS, STLS).", {"listener"});
    counter_family& handshake_failures = all.add_counter("mailwright_tls_handshake_failures_total",
                                                         "TLS handshakes that failed or timed out.", {"listener"});
    counter_family& logins = all.add_counter(
        "mailwright_logins_total",
        "Login attempts by mechanism (USER for POP3 USER/PASS, APOP, or the SASL mechanism) and outcome (ok, failed, "
        "tempfail).",
        {"mechanism", "outcome"});
    counter_family& messages = all.add_counter(
        "mailwright_messages_total", "Messages by service and outcome (accepted, refused, tempfailed), as replied.",
        {"service", "outcome"});
    counter_family& message_bytes =
        all.add_counter("mailwright_message_bytes_total", "Octets of message data received, by service and outcome.",
                        {"service", "outcome"});
    histogram_family& plugin_calls =
        all.add_histogram("mailwright_plugin_call_duration_seconds",
                          "Time spent in calls into plugins (auth, store, hooks, filters), by plugin and call.",
                          {"plugin", "call"}, call_buckets);
    counter& compute_refused = all.add_counter("mailwright_compute_pool_refused_total",
                                               "Callers of the compute pool (password hashing and other CPU work) "
                                               "answered busy: no place within [server] hashing_wait.")
                                   .with(std::span<const std::string_view>{});
    counter_family& cache_lookups = all.add_counter(
        "mailwright_credential_cache_lookups_total",
        "Lookups in the verified-credentials cache by outcome (hit: a match without hashing, miss).", {"outcome"});
    counter& cache_evictions = all.add_counter("mailwright_credential_cache_evictions_total",
                                               "Entries of the verified-credentials cache dropped for room "
                                               "([auth] cache_size), oldest first.")
                                   .with(std::span<const std::string_view>{});

    instruments() {
        all.add_computed_gauge("mailwright_blocking_pool_queued_jobs",
                               "Blocking jobs (file I/O, fsync, password hashing) waiting for a thread of the pool.",
                               [] { return static_cast<double>(io::blocking_pool_load().queued); });
        all.add_computed_gauge("mailwright_blocking_pool_running_jobs",
                               "Blocking jobs a thread of the pool is running.",
                               [] { return static_cast<double>(io::blocking_pool_load().running); });
        all.add_computed_gauge("mailwright_blocking_pool_threads", "Threads of the blocking pool.",
                               [] { return static_cast<double>(io::blocking_pool_load().threads); });
        all.add_computed_gauge("mailwright_compute_pool_queued_jobs",
                               "Compute jobs (password hashing, signature checks) admitted and waiting for a thread.",
                               [] { return static_cast<double>(io::compute_pool_load().queued); });
        all.add_computed_gauge("mailwright_compute_pool_running_jobs", "Compute jobs a thread of the pool is running.",
                               [] { return static_cast<double>(io::compute_pool_load().running); });
        all.add_computed_gauge("mailwright_compute_pool_waiting_callers",
                               "Callers waiting for a place in the compute pool (its queue is full).",
                               [] { return static_cast<double>(io::compute_pool_load().waiting); });
        all.add_computed_gauge("mailwright_compute_pool_threads", "Threads of the compute pool.",
                               [] { return static_cast<double>(io::compute_pool_load().threads); });
        all.add_computed_gauge("mailwright_credential_cache_entries", "Entries in the verified-credentials cache.", [] {
            return static_cast<double>(sasl::process_credential_cache().statistics().entries);
        });
        cache_lookups.with({"hit"});
        cache_lookups.with({"miss"});
    }
};

// Made on first use and never destroyed: a session or a plugin call that ends while the process exits may
// still count, whatever the order of static destruction.
instruments& the() {
    static instruments* const i = new instruments;
    return *i;
}

}  // namespace

registry& process_registry() { return the().all; }

void declare_listener(std::string_view listener, bool tls) {
    auto& m = the();
    m.accepted.with({listener});
    m.refused.with({listener, "total"});
    m.refused.with({listener, "per_ip"});
    m.open.with({listener});
    if (tls) {
        m.handshakes.with({listener});
        m.handshake_failures.with({listener});
    }
}

open_session::open_session(std::string_view listener, std::string_view protocol)
    : listener_open_(the().open.with({listener})), protocol_open_(the().sessions_open.with({protocol})) {
    the().accepted.with({listener}).inc();
    the().sessions.with({protocol}).inc();
    listener_open_.inc();
    protocol_open_.inc();
}

open_session::~open_session() {
    listener_open_.dec();
    protocol_open_.dec();
}

void count_refused_connection(std::string_view listener, bool total_limit) {
    the().refused.with({listener, total_limit ? "total" : "per_ip"}).inc();
}

void count_proxy_header(std::string_view listener, proxy_outcome outcome) {
    the().proxy_headers.with({listener, name_of(outcome)}).inc();
}

void count_tls_handshake(std::string_view listener, bool succeeded) {
    the().handshakes.with({listener}).inc();
    if (!succeeded) {
        the().handshake_failures.with({listener}).inc();
    }
}

void count_login(std::string_view mechanism, login_outcome outcome) {
    const bool known = std::find(mechanisms.begin(), mechanisms.end(), mechanism) != mechanisms.end();
    the().logins.with({known ? mechanism : "other", name_of(outcome)}).inc();
}

message_outcome outcome_of_reply(std::string_view reply) noexcept {
    if (!reply.empty() && reply.front() == '2') {
        return message_outcome::accepted;
    }
    return !reply.empty() && reply.front() == '4' ? message_outcome::tempfailed : message_outcome::refused;
}

void count_message(std::string_view service, message_outcome outcome, std::uint64_t octets) {
    the().messages.with({service, name_of(outcome)}).inc();
    the().message_bytes.with({service, name_of(outcome)}).inc(octets);
}

void count_compute_refused() { the().compute_refused.inc(); }

void count_credential_cache(cache_event event, std::uint64_t count) {
    switch (event) {
        case cache_event::hit:
            the().cache_lookups.with({"hit"}).inc(count);
            break;
        case cache_event::miss:
            the().cache_lookups.with({"miss"}).inc(count);
            break;
        case cache_event::eviction:
            the().cache_evictions.inc(count);
            break;
    }
}

plugin_call_timer::plugin_call_timer(std::string_view plugin, std::string_view call)
    : histogram_(the().plugin_calls.with({plugin, call})), started_(std::chrono::steady_clock::now()) {}

plugin_call_timer::~plugin_call_timer() {
    histogram_.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count());
}

}  // namespace mailwright::metrics
