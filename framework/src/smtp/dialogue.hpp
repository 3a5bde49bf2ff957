// The SMTP/LMTP dialogue's shape, shared by the files that implement it: session.cpp (the loop, the
// greetings, STARTTLS, AUTH, DATA/BDAT), answer.cpp (the replies to a message), envelope.cpp (MAIL and RCPT),
// incoming.cpp (the message as the dialogue reads it into the pipeline) and xclient_step.cpp (XCLIENT). What they say
// is in replies.hpp. Private to the framework.
#pragma once

#include <fmt/format.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mailwright/pipeline/message_pipeline.hpp"
#include "mailwright/plugin/envelope.hpp"
#include "mailwright/plugin/hook.hpp"
#include "mailwright/plugin/mailstore.hpp"
#include "mailwright/server/sasl_exchange.hpp"
#include "mailwright/server/session.hpp"
#include "mailwright/smtp/address.hpp"
#include "mailwright/smtp/command.hpp"
#include "mailwright/smtp/data_reader.hpp"
#include "mailwright/smtp/service.hpp"
#include "mailwright/smtp/state.hpp"

namespace mailwright::smtp::detail {

using plugin::auth_status;
using plugin::store_status;

enum class next { go_on, close };

// What a message must not do; each is answered after the message ends.
enum class refusal { none, too_big, bare_line_end, line_too_long, nul, interrupted, lost };

// A message id, unique within the process and over restarts (seconds, then a counter).
std::string message_id();

struct transaction {
    std::optional<mailbox> sender;  // empty with a null reverse-path
    // Sender, recipients, BODY, SMTPUTF8, the DSN parameters and the id: handed to the store with the message.
    plugin::envelope envelope;
    // The mailboxes, each once: recipients that resolve to one user get one copy (RFC 5321 3.3 allows it), so a
    // store is never asked for two copies in one mailbox.
    std::vector<std::string> users;
};

class dialogue;

// Reads one message from the client, DATA or BDAT, into the message pipeline: the octets where data_reader
// (DATA) or the chunk sizes (BDAT) end it, each chunk acknowledged and the commands between chunks answered
// as the state table's `chunking` row allows. A message that breaks a limit (size, line length, bare CR/LF,
// NUL, minimum rate) is no longer handed on (the dialogue then gives the pipeline up, so the store keeps
// nothing); the rest is read and dropped.
class incoming {
  public:
    incoming(dialogue& d, bool chunked, std::uint64_t first_chunk, bool last);
    // Reads to the end of the message, or until the connection is lost. Its octets go to `sink` while the
    // message keeps every rule and the sink takes them; with no sink they are dropped.
    asio::awaitable<void> read(pipeline::message_pipeline* sink);

    refusal problem() const noexcept { return problem_; }
    std::uint64_t octets() const noexcept { return octets_; }
    server::read_status lost_by() const noexcept { return lost_by_; }
    // BDAT: the command that interrupted a chunk sequence, to be served after the message is refused.
    const std::string& interrupting_line() const noexcept { return interrupting_; }

  private:
    // Reads the next piece of the message and appends it to `out`, or notes its end.
    asio::awaitable<void> step(std::string& out);
    asio::awaitable<void> next_chunk();
    void refuse(refusal r) noexcept {
        if (problem_ == refusal::none) {
            problem_ = r;
        }
    }
    void note_reader_problem() noexcept {
        if (reader_.first_problem() == data_reader::problem::bare_line_end) {
            refuse(refusal::bare_line_end);
        } else if (reader_.first_problem() == data_reader::problem::line_too_long) {
            refuse(refusal::line_too_long);
        } else if (reader_.first_problem() == data_reader::problem::nul) {
            refuse(refusal::nul);
        }
    }

    dialogue& d_;
    bool chunked_;
    std::uint64_t chunk_left_;
    bool last_;
    bool binary_;  // BODY=BINARYMIME: the chunks are taken as they are, with no rules for lines
    data_reader reader_;
    std::string dropped_;  // where octets go that nobody takes
    bool finished_ = false;
    refusal problem_ = refusal::none;
    std::uint64_t octets_ = 0;
    server::read_status lost_by_ = server::read_status::eof;
    std::string interrupting_;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

class dialogue {
  public:
    dialogue(service& svc, server::session& s) : options_(svc.settings()), env_(svc.env()), s_(s) {}

    // The whole dialogue with one client. Static, with the dialogue a local of its frame: service::serve()
    // returns it as it is, so a session waiting for a command holds one frame here, not two.
    static asio::awaitable<void> run(service& svc, server::session& s);

    // For `incoming`.
    server::session& session() noexcept { return s_; }
    const options& settings() const noexcept { return options_; }

  private:
    friend class incoming;

    void reply(std::string_view text) {
        note_refusal(text);
        s_.reply(fmt::format("{}\r\n", text));
    }
    // A reply to a client mistake: counted, and the connection closes at the limit (Postfix hard_error_limit).
    next error(std::string_view text);

    // The connect hook for the client as the session knows it now, then the greeting (or the hook's refusal:
    // false, and the connection closes). At the start, and again after XCLIENT.
    asio::awaitable<bool> greet();
    asio::awaitable<next> on_line(std::string_view line);
    asio::awaitable<next> dispatch(const command& c);
    // Refuses a command with `text`; a refused BDAT's chunk is read and dropped first.
    // `text` must outlive the call (a literal, or a string named by the caller).
    asio::awaitable<next> refuse(const command& c, std::string_view text);

    asio::awaitable<next> on_hello(const command& c);
    asio::awaitable<next> on_starttls();
    asio::awaitable<next> on_auth(const command& c);
    asio::awaitable<next> on_xclient(const command& c);
    // Whether the client as the session knows it now may send XCLIENT (options::xclient_trusted).
    bool xclient_trusted() const;
    asio::awaitable<next> on_mail(const command& c);
    asio::awaitable<next> on_rcpt(const command& c);
    asio::awaitable<next> on_data();
    asio::awaitable<next> on_bdat(const command& c);
    asio::awaitable<next> receive(incoming& message);
    // The reply to a message, as it went: one line, or one per recipient for LMTP.
    // `answers`: one per recipient, what the message pipeline said.
    next answer_message(const transaction& done, refusal problem, const plugin::reply* refused_by_hook,
                        const std::vector<plugin::reply>& answers, std::uint64_t octets);
    asio::awaitable<next> auth_failed(std::string_view mechanism, std::string_view attempted);

    bool is_local_domain(std::string_view domain) const;
    // The user a recipient names (the configured one for postmaster), or why it is refused.
    struct local_recipient {
        std::string user;  // empty: refused with `refusal`
        bool postmaster = false;
        bool remote = false;  // relayed: `user` is the whole address, for a store that delivers_remote()
        std::string refusal;
    };
    local_recipient local_user(const mailbox& box) const;
    bool may_relay() const noexcept;  // this client may name recipients outside the local domains
    struct recipient_users {
        std::vector<std::string> users;
        std::optional<next> refused;  // the recipient was refused, and the reply said why
    };
    asio::awaitable<recipient_users> users_of(const mailbox& box);
    std::size_t users_in_transaction() const noexcept;  // the mailboxes the recipients so far reach, repeats too
    asio::awaitable<recipient_users> known_user(const mailbox& box, const std::string& user, bool postmaster);
    std::vector<std::string> mechanisms() const { return server::offered_mechanisms(s_, auth_settings()); }
    server::auth_settings auth_settings() const { return server::auth_settings_of(options_, env_); }
    std::string trace_headers() const;  // Return-Path and Received, written before the client's octets
    // What hooks, resolvers and filters learn of the session: valid while `argument` and `envelope` are.
    plugin::event_context event(std::string_view argument, const plugin::envelope* envelope) const;
    asio::awaitable<plugin::reply> hook(plugin::smtp_phase phase, std::string_view argument,
                                        const plugin::envelope* envelope = nullptr);
    // A verdict that is not accept becomes the reply (554 5.7.1 or 451 4.7.1); true when it was not accept.
    bool refused(const plugin::reply& v);

    // The log lines about mail (dialogue_log.cpp). A negative reply while `refusing_` names MAIL, RCPT, DATA or
    // BDAT is logged as that command's refusal; the message's own outcome is logged by answer_message().
    void note_refusal(std::string_view text) const;
    void log_refusal(std::string_view what, std::string_view text, const plugin::envelope* e,
                     std::span<const std::string_view> to) const;
    void log_accepted(const plugin::envelope& e, std::uint64_t octets, std::span<const std::string_view> to) const;
    std::string log_client() const;  // " tls=TLSv1.3 client=192.0.2.1 user=alice"

    const options& options_;
    const environment& env_;
    server::session& s_;

    state state_ = state::connected;
    bool extended_ = false;  // EHLO/LHLO, not HELO: PIPELINING and the extensions apply
    std::string helo_;
    std::string helo_before_tls_;  // for implicit_helo_after_starttls only
    std::string user_;             // authenticated
    transaction txn_;
    unsigned errors_ = 0;
    unsigned auth_failures_ = 0;
    std::optional<verb> refusing_;  // the command being answered, when its refusals are logged (note_refusal)
    std::string attempted_to_;      // RCPT: the recipient being answered
    // What a trusted proxy said with XCLIENT (xclient_step.cpp) beyond the session's peer: the client's host
    // name for the Received header (empty: not known), the HELO name it gave, which stands for the client's
    // through the proxy's next EHLO/HELO, and PROTO (SMTP or ESMTP) for the Received header's "with".
    std::string client_name_;
    std::optional<std::string> xclient_helo_;
    std::optional<bool> xclient_esmtp_;
};

}  // namespace mailwright::smtp::detail
