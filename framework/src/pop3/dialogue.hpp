// The POP3 dialogue's shape, shared by the files that implement it: session.cpp (the loop, AUTHORIZATION,
// STLS and CAPA) and transaction.cpp (the maildrop commands). What they say is in replies.hpp. Private to the
// framework.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "mailwright/pop3/command.hpp"
#include "mailwright/pop3/service.hpp"
#include "mailwright/pop3/state.hpp"
#include "mailwright/server/sasl_exchange.hpp"
#include "mailwright/server/session.hpp"

namespace mailwright::pop3::detail {

using plugin::auth_status;
using plugin::store_status;

enum class next { go_on, close };

// RFC 4616 and RFC 5034 bound identities at 255 octets.
constexpr std::size_t max_user_name = 255;
// A multi-line reply is written out whenever this much is queued, so a large message streams through a
// bounded buffer instead of being held whole.
constexpr std::size_t flush_threshold = 64 * 1024;

// A client's text as it may appear inside a reply: at most `max` octets, control characters as '?' (UTF-8
// stays: RFC 6856 allows it in replies).
std::string printable(std::string_view text, std::size_t max = 40);

class dialogue {
  public:
    dialogue(service& svc, server::session& s) : svc_(svc), options_(svc.settings()), env_(svc.env()), s_(s) {}

    // The whole dialogue with one client. Static, with the dialogue a local of its frame: service::serve()
    // returns it as it is, so a session waiting for a command holds one frame here, not two.
    static asio::awaitable<void> run(service& svc, server::session& s);

  private:
    // Replies. Every negative reply goes through err(), so the text is the only thing that varies.
    void ok(std::string_view text) { s_.reply(fmt::format("+OK {}\r\n", text)); }
    void err(std::string_view text) { s_.reply(fmt::format("-ERR {}\r\n", text)); }

    asio::awaitable<next> on_line(std::string_view line);
    asio::awaitable<next> dispatch(const parsed& p);
    next bad_command(std::string_view reply);

    // AUTHORIZATION
    next on_user(std::string_view name);
    asio::awaitable<next> on_pass(std::string_view password);
    asio::awaitable<next> on_apop(std::string_view name, std::string_view digest);
    asio::awaitable<next> on_auth(const parsed& p);
    asio::awaitable<next> on_stls();
    void on_capa();
    // Completes PASS, APOP or AUTH (`cmd`, issued in `issued_in`) with what the auth chain said.
    asio::awaitable<next> login(command cmd, state issued_in, const plugin::auth_result& result,
                                std::string_view attempted);
    // `mechanism`: "USER" (USER/PASS), "APOP" or the SASL mechanism, as the failed-login line names it.
    asio::awaitable<next> login_failed(std::string_view mechanism, std::string_view attempted);

    // TRANSACTION
    void on_stat();
    void on_list(const parsed& p, bool uids);
    asio::awaitable<next> on_retrieve(const parsed& p);
    asio::awaitable<next> on_dele(const parsed& p);
    void on_rset();
    asio::awaitable<next> on_quit();

    // The message a number names, or nullopt after replying -ERR.
    std::optional<std::size_t> message(std::string_view argument);
    std::pair<std::size_t, std::uint64_t> totals() const;

    // Whether any authentication may happen now: inside TLS, or on a listener that allows it without.
    bool auth_allowed() const { return s_.tls_active() || !options_.auth_requires_tls; }
    bool plaintext_allowed() const { return auth_allowed() && (s_.tls_active() || options_.plaintext_auth); }
    bool apop_available() const { return options_.apop && env_.auth->secrets() != nullptr; }
    std::vector<std::string> mechanisms() const { return server::offered_mechanisms(s_, auth_settings()); }
    server::auth_settings auth_settings() const { return server::auth_settings_of(options_, env_); }
    // Checks a user name from USER or APOP; replies -ERR and returns false when it is not acceptable.
    bool acceptable_user_name(std::string_view name);
    // Runs the POP3 hooks; `user` is the one logging in, or the authenticated user.
    asio::awaitable<plugin::reply> hook(plugin::pop3_event event, std::string_view argument, std::string_view user);

    service& svc_;
    const options& options_;
    const environment& env_;
    server::session& s_;

    state state_ = state::authorization;
    std::string user_;  // the name given to USER, until PASS
    std::string authenticated_;
    std::unique_ptr<plugin::maildrop> drop_;
    std::string timestamp_;  // APOP (RFC 1939 7): unique to this connection
    bool utf8_ = false;      // RFC 6856: the client sent UTF8
    unsigned bad_commands_ = 0;
    unsigned auth_failures_ = 0;
};

}  // namespace mailwright::pop3::detail
