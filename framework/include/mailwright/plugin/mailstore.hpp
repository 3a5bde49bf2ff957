// The mailstore plugin kind: mailbox access for a session and atomic delivery. Sized for POP3 (a maildrop is a
// numbered list of messages, fixed for the session) and for delivery from SMTP and LMTP (a message is pushed
// into a `delivery`, then committed). The Maildir plugin (mailstore/maildir) implements it.
#pragma once

#include <algorithm>
#include <asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "mailwright/plugin/envelope.hpp"
#include "mailwright/plugin/plugin.hpp"
#include "mailwright/plugin/reply.hpp"

namespace mailwright::plugin {

enum class store_status {
    ok,
    in_use,     // another session holds the maildrop (POP3 [IN-USE])
    not_found,  // no such mailbox, no such message
    tempfail,   // try later (disk full, I/O error); nothing was changed
    permfail,   // will not work however often tried (corrupt store)
};

struct message_info {
    std::string uid;         // unique and stable across sessions (POP3 UIDL)
    std::uint64_t size = 0;  // octets with CRLF line ends, as POP3 counts them
};

struct chunk_result {
    std::size_t bytes = 0;  // 0 with no error: the end
    std::error_code ec;
};

// A message read as a stream of CRLF-terminated lines, in chunks.
class message_reader {
  public:
    virtual ~message_reader() = default;
    virtual asio::awaitable<chunk_result> read_some(std::span<char> buffer) = 0;
};

struct open_message_result {
    store_status status = store_status::tempfail;
    std::unique_ptr<message_reader> reader;
};

// One session's exclusive view of a mailbox. Message numbers (indexes) never shift during the session.
class maildrop {
  public:
    virtual ~maildrop() = default;
    virtual const std::vector<message_info>& messages() const = 0;
    // The whole message, or its headers and the first `body_lines` lines of its body (POP3 TOP).
    virtual asio::awaitable<open_message_result> open_message(std::size_t index,
                                                              std::optional<std::size_t> body_lines) = 0;
    virtual void mark_deleted(std::size_t index) = 0;
    virtual bool is_deleted(std::size_t index) const = 0;
    virtual void undelete_all() = 0;
    // Applies the deletions (POP3 UPDATE). A maildrop destroyed without commit() deletes nothing.
    virtual asio::awaitable<store_status> commit() = 0;
};

struct open_result {
    store_status status = store_status::tempfail;
    std::unique_ptr<maildrop> drop;
};

// What became of a message for each recipient, in the order of the `users` given to begin(): reply::accept()
// for a mailbox that holds it durably; otherwise what that recipient's sender hears (LMTP answers each
// recipient by it, RFC 2033 4.2), e.g. reply::smtp(552, "5.2.2", "mailbox full").
struct delivery_result {
    std::vector<reply> recipients;

    static delivery_result all(std::size_t count, const reply& r) { return {std::vector<reply>(count, r)}; }
};

// One message on its way into the store, pushed by whoever received it: the SMTP/LMTP dialogue (in pieces of
// up to 64 KiB, CRLF line ends, the trace header fields first), or a program that makes a message itself.
// The store only receives octets: the dialogue answers the client, between BDAT chunks too, and never runs
// inside a store call.
class delivery {
  public:
    // Destroyed without commit(): the message is given up (the client went away, or broke a limit), and
    // the store keeps nothing of it. Must not throw.
    virtual ~delivery() = default;
    // The next piece of the message. False: the store has given the message up (a write failed); the rest
    // is not sent, and commit() says what the recipients hear.
    virtual asio::awaitable<bool> write(std::span<const char> piece) = 0;
    // The message is complete: store it for every user given to begin() whose `wanted` entry is true, and
    // answer for each (the answers for the others are not used). An entry is false when a message filter
    // refused every recipient of that mailbox. A recipient hears success only once the message is durable
    // for it.
    virtual asio::awaitable<delivery_result> commit(const std::vector<bool>& wanted) = 0;
};

class mailstore : public plugin_base {
  public:
    plugin_kind kind() const noexcept final { return plugin_kind::mailstore; }
    virtual asio::awaitable<open_result> open(std::string_view user) = 0;
    // Starts a message for these mailboxes; null when the store cannot take one now (every recipient hears a
    // temporary failure). `message` is the SMTP/LMTP envelope (null for a message a program makes itself),
    // valid until the delivery ends. SMTP and LMTP name each mailbox once (recipients of one user get one
    // copy); a store given a user twice should still store one copy and answer ok for both.
    virtual asio::awaitable<std::unique_ptr<delivery>> begin(std::span<const std::string> users,
                                                             const plugin::envelope* message) = 0;
    // Whether a message is kept octet for octet whatever it holds (bare CR and LF, NUL, lines of any length):
    // only then does SMTP offer BINARYMIME (RFC 3030). A store that keeps text with its own line ends says no.
    virtual bool keeps_binary() const noexcept { return false; }
    // Whether begin() also takes recipients outside the local domains, each named by its whole address
    // (user@domain) in `users`: a store that hands messages to another server (plugins/forward). Only then may
    // a listener relay ([listener.smtp] relay): the Maildir store says no.
    virtual bool delivers_remote() const noexcept { return false; }
};

// Delivers a message a program holds whole (a welcome message, a bounce, a test's message) in pieces of at
// most `piece` octets: begin(), write() ..., commit(). Every recipient hears tempfail when begin() gives none.
asio::awaitable<delivery_result> deliver(mailstore& store, std::span<const std::string> users, std::string_view text,
                                         std::size_t piece = 64 * 1024);

}  // namespace mailwright::plugin
