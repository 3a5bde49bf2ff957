// The mailstore plugin kind: mailbox access for a session and atomic delivery. Sized for POP3 first (a
// maildrop is a numbered list of messages, fixed for the session) and for delivery from SMTP and LMTP.
// The Maildir plugin (mailstore/maildir) implements it.
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

// The message to deliver, as a stream, and what is known of it besides its text.
class message_source {
  public:
    virtual ~message_source() = default;
    virtual asio::awaitable<chunk_result> read_some(std::span<char> buffer) = 0;
    // The SMTP/LMTP envelope and DSN parameters; none for a message a program makes itself.
    virtual const plugin::envelope* envelope() const noexcept { return nullptr; }
};

// A message held in a string, handed out in pieces of at most `piece` octets: for messages a program makes
// itself (a welcome message, a bounce) and for tests.
class string_source final : public message_source {
  public:
    explicit string_source(std::string text, std::size_t piece = 64 * 1024) : text_(std::move(text)), piece_(piece) {}
    asio::awaitable<chunk_result> read_some(std::span<char> buffer) override {
        const std::size_t n = std::min({buffer.size(), piece_, text_.size() - at_});
        std::copy_n(text_.data() + at_, n, buffer.data());
        at_ += n;
        co_return chunk_result{n, {}};
    }

  private:
    std::string text_;
    std::size_t piece_;
    std::size_t at_ = 0;
};

struct open_result {
    store_status status = store_status::tempfail;
    std::unique_ptr<maildrop> drop;
};

struct delivery_result {
    store_status status = store_status::tempfail;
    std::vector<store_status> per_recipient;  // one per entry of `users`: LMTP answers each recipient by it
};

class mailstore : public plugin_base {
  public:
    plugin_kind kind() const noexcept final { return plugin_kind::mailstore; }
    virtual asio::awaitable<open_result> open(std::string_view user) = 0;
    // Stores the message for every recipient; acknowledged (ok) only once it is durable. SMTP and LMTP name each
    // mailbox once (recipients of one user get one copy); a store given a user twice should still store one copy
    // and answer ok for both, never fail the second after storing the first.
    virtual asio::awaitable<delivery_result> deliver(std::span<const std::string> users, message_source& message) = 0;
    // Whether a message is kept octet for octet whatever it holds (bare CR and LF, NUL, lines of any length):
    // only then does SMTP offer BINARYMIME (RFC 3030). A store that keeps text with its own line ends says no.
    virtual bool keeps_binary() const noexcept { return false; }
};

}  // namespace mailwright::plugin
