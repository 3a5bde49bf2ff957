// A message filter: sees one message as it streams from the dialogue to the store (the message pipeline,
// pipeline/message_pipeline.hpp), may add header fields, and has a say before the message is stored. One
// filter object per message, so it may keep what it learns; it never holds the message whole unless it
// chooses to. Filters run in order; the first refusal decides, and the client hears it.
//
// What a filter sees: the client's header block field by field (the trace fields the server writes first are
// not shown), then the body in pieces as they arrive. Header fields it adds go above the client's header
// block, below the trace fields.
#pragma once

#include <asio/awaitable.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mailwright/plugin/envelope.hpp"
#include "mailwright/plugin/reply.hpp"

namespace mailwright::plugin {

class message_filter {
  public:
    virtual ~message_filter() = default;
    // For the log: what a call that threw is reported as (the fault barrier catches it, and the message is
    // refused for now, 451 4.3.0: nothing is stored that a filter did not see through).
    virtual std::string_view name() const noexcept { return "message-filter"; }
    // One header field as received: its name, the colon, the value with any folded lines, the final CRLF.
    virtual void header(std::string_view /*field*/) {}
    // The header block has ended (or the message had none). Fields to add go into `added`, each as
    // "Name: value" without a line end. A refusal here drops the message: the rest is read and discarded.
    virtual asio::awaitable<reply> headers_done(std::vector<std::string>& /*added*/) { co_return reply::accept(); }
    // The next piece of the body, as it streams.
    virtual void body(std::span<const char> /*piece*/) {}
    // The message is complete, before the store commits it. A refusal: nothing is stored.
    virtual asio::awaitable<reply> end() { co_return reply::accept(); }
};

}  // namespace mailwright::plugin
