// The way a message goes from the dialogue that receives it to the store: the message filters, then the
// store's delivery (plugin/mailstore.hpp), in pieces of piece_size octets. The dialogue owns it: it reads
// the client, appends the message's octets to buffer(), flushes when full(), answers every command itself
// (between BDAT chunks too), and either calls finish() or, when the message breaks a rule or the client goes
// away, destroys the pipeline, which gives the message up: the store keeps nothing.
//
// Push, not pull: the store only ever receives octets, so no protocol code runs inside a plugin call (behind
// its fault barrier), and the octets go from the dialogue's buffer to the store without another copy.
//
// Filters see the client's header block field by field (held until it ends, up to max_header_block octets;
// what follows is body whatever it looks like), remove fields and add others, then see the body as it
// streams; the message is never held whole. At the end each filter answers for the message or for each
// recipient; the store then commits for the recipients nobody refused.
#pragma once

#include <asio/awaitable.hpp>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mailwright/io/spool.hpp"
#include "mailwright/plugin/envelope.hpp"
#include "mailwright/plugin/filter.hpp"
#include "mailwright/plugin/mailstore.hpp"
#include "mailwright/plugin/reply.hpp"

namespace mailwright::pipeline {

struct held_field;  // src/pipeline/field_edits.hpp

inline constexpr std::size_t piece_size = 64 * 1024;
inline constexpr std::size_t max_header_block = 256 * 1024;  // with filters: a longer one is refused (552 5.3.4)
inline constexpr std::size_t max_added_field = 998 - 2;      // a field a filter adds, without its CRLF

struct filter_entry {
    std::string name;                                // the plugin's, for the log and the fault barrier
    std::unique_ptr<plugin::message_filter> filter;  // null: it could not be made, and the message is refused for now
};
using filter_list = std::vector<filter_entry>;

// How the client hears the outcome: LMTP answers each recipient (RFC 2033 4.2), SMTP once for all. With one
// answer for all, a filter's refusal of any recipient refuses the message for every one (nothing is stored
// for the others either: the client would otherwise take the message back, and send it again).
enum class answers { one_for_all, each_recipient };

class message_pipeline {
  public:
    // `users` and `envelope` must outlive the pipeline. Each of the envelope's recipients names its users
    // (envelope_recipient::users), all of them in `users`.
    message_pipeline(plugin::mailstore& store, std::span<const std::string> users, const plugin::envelope* envelope,
                     filter_list filters);
    message_pipeline(const message_pipeline&) = delete;
    message_pipeline& operator=(const message_pipeline&) = delete;
    ~message_pipeline();

    // Starts the store's delivery; `trace` (Return-Path, Received) goes first in the message.
    asio::awaitable<void> begin(std::string_view trace);

    // Where the message's octets go, CRLF line ends. Flush when full().
    std::string& buffer() noexcept { return buffer_; }
    bool full() const noexcept { return buffer_.size() >= piece_size; }
    asio::awaitable<void> flush() { return pass(false); }

    // Whether the message is still going somewhere: a filter refused it, or the store could not begin it.
    // Octets appended after that are dropped at the next flush.
    bool refused() const noexcept { return refusal_.has_value(); }

    // The message is complete: the rest goes to the store, the filters have their last say, the store
    // commits. One reply per envelope recipient, in order: a filter's refusal of it, or else what the store
    // answered for its users (the first temporary failure, else the first refusal, else success).
    asio::awaitable<std::vector<plugin::reply>> finish(answers heard = answers::one_for_all);
    // After finish(): a filter discarded the message, and the recipients heard success.
    bool discarded() const noexcept { return discarded_; }

  private:
    // Hands the filters what is new and the store every whole piece (every octet when `last`).
    asio::awaitable<void> pass(bool last);
    asio::awaitable<void> pass_body(std::span<const char> fresh);
    // The end of the client's header block in buffer_ (after its blank line), or npos when not seen yet.
    std::size_t header_end();
    asio::awaitable<void> end_headers(std::size_t end);
    // The fields of [header_start_, end) the filters keep, each shown to them; the blank line that ended it.
    std::string kept_fields(std::size_t end, std::string& blank_line);
    void add_fields(std::string& block, const std::vector<std::string>& fields);
    // Every filter's end(); a discard or a refusal of the message ends the asking.
    asio::awaitable<void> ask_end(std::vector<plugin::reply>& per_recipient);
    // Commits for the recipients `per_recipient` left accepted and says what each recipient hears.
    asio::awaitable<std::vector<plugin::reply>> commit(std::vector<plugin::reply> per_recipient);
    asio::awaitable<bool> write_out(std::span<const char> piece);
    bool keep_edits(const filter_entry& f, plugin::filter_verdict& verdict);
    asio::awaitable<void> release();
    void refuse(plugin::reply r);
    std::size_t recipient_count() const noexcept;
    std::vector<std::size_t> users_of(std::size_t recipient) const;
    template <class Call>
    void each_filter(std::string_view what, Call call);
    template <class Call>
    asio::awaitable<void> ask_filters(std::string_view what, Call call);

    plugin::mailstore& store_;
    std::span<const std::string> users_;
    const plugin::envelope* envelope_;
    filter_list filters_;
    std::unique_ptr<plugin::delivery> delivery_;
    std::optional<plugin::reply> refusal_;
    bool store_gave_up_ = false;  // a write failed: nothing more is written; commit() says why
    bool discarded_ = false;
    bool started_ = false;  // the message's first octet was looked at
    std::string buffer_;
    bool in_headers_;               // filters wait for the end of the header block
    std::size_t header_start_ = 0;  // where the client's header block starts in buffer_
    std::size_t scanned_ = 0;       // how far buffer_ was searched for the blank line
    std::size_t filtered_ = 0;      // how much of buffer_ the filters have seen
    // A filter edits at the end (message_filter::edits_at_end()): the message is held back from the store until
    // every filter has answered, its trace and header block here, its body in spool_.
    bool held_ = false;
    std::string trace_;
    std::vector<held_field> fields_;
    std::string blank_line_;
    std::unique_ptr<io::spool> spool_;
    std::shared_ptr<plugin::message_reader> new_body_;
};

}  // namespace mailwright::pipeline
