// A message filter: sees one message as it streams from the dialogue to the store (the message pipeline,
// pipeline/message_pipeline.hpp), may add and remove header fields, and has the last say before the message is
// stored. A hook makes one filter object per message (hook::filter(), hook.hpp), so it may keep what it
// learns; it never holds the message whole unless it chooses to. Filters run in the order of [plugins] hooks;
// the first refusal decides, and the client hears it.
//
// What a filter sees: the client's header block field by field (the trace fields the server writes first are
// not shown), then the body in pieces as they arrive. The header block is held until it ends, up to 256 KiB:
// a longer one is refused (552 5.3.4), since what a filter did not see could hold what it removes. So is a
// message whose first line starts with white space (550 5.6.0): it would fold into the field above it.
#pragma once

#include <asio/awaitable.hpp>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mailwright/imf/header.hpp"
#include "mailwright/plugin/mailstore.hpp"
#include "mailwright/plugin/reply.hpp"

namespace mailwright::plugin {

enum class field_action {
    keep,
    remove,  // the field is not stored (e.g. a forged Authentication-Results)
};

// Header fields a filter adds, each as "Name: value" on one line without its line end, at most 996 octets
// (RFC 5322 2.1.1's 998 with the CRLF; a longer one refuses the message for now, it is never cut): control
// characters in it become spaces, so no filter can end the header block early or fold into another field.
struct header_changes {
    std::vector<std::string> prepend;  // above the client's header block, below the trace fields, in order
    std::vector<std::string> append;   // after the client's last header field, in order
};

// A change to the header block that a filter makes at the end, once it has seen the whole message (a milter's
// header actions, a DKIM signature). Edits apply in order to the header block below the trace fields as it then
// stands: what headers_done() prepended, the client's fields the filters kept, what headers_done() appended,
// and the earlier edits. A value may be folded ("\n\t" or "\r\n\t" between its lines, as milters send
// DKIM-Signature); each line ends CRLF when stored, other control characters become spaces, and a line longer
// than 996 octets refuses the message for now.
struct field_edit {
    enum class kind {
        append,  // "name: value" after the last field (milter addheader)
        insert,  // "name: value" before the index-th field, 0 the top (milter insheader)
        // The index-th field called name (1-based, case-insensitive), counting the client's fields only (those
        // a filter is shown), gets this value; when there is none, the field is appended (milter chgheader).
        change,
        remove,  // the index-th such field goes (milter chgheader with an empty value); none: nothing changes
    };
    kind what = kind::append;
    std::string name;
    std::string value;
    std::size_t index = 0;
};

// A filter's say at the end of the message.
struct filter_verdict {
    reply answer = reply::accept();  // for the whole message: not accept refuses it, and nothing is stored
    // Or one answer per envelope recipient, in the envelope's order: a recipient refused here is not
    // delivered, the others are. LMTP tells each recipient its own answer (RFC 2033 4.2); SMTP has one reply
    // for all, so there a refusal of any recipient refuses the message for all (a temporary one first).
    std::vector<reply> recipients;
    // The client hears that the message was accepted, and nothing is stored (Postfix's DISCARD).
    bool discard = false;
    // Header changes, applied when the message is stored for some recipient. Only a filter whose
    // edits_at_end() is true may make them (others' are ignored and logged).
    std::vector<field_edit> edits;
    // A new body in place of the client's (milter replbody), read to its end after the header block; null:
    // the client's body. Only with edits_at_end().
    std::shared_ptr<message_reader> new_body;

    static filter_verdict accept() { return {}; }
    static filter_verdict refuse(reply r) { return {std::move(r), {}, false, {}, nullptr}; }
    static filter_verdict per_recipient(std::vector<reply> answers) {
        return {reply::accept(), std::move(answers), false, {}, nullptr};
    }
    static filter_verdict drop() { return {reply::accept(), {}, true, {}, nullptr}; }
};

class message_filter {
  public:
    virtual ~message_filter() = default;
    // For the log: what a call that threw is reported as (the fault barrier catches it, and the message is
    // refused for now, 451 4.3.0: nothing is stored that a filter did not see through).
    virtual std::string_view name() const noexcept { return "message-filter"; }
    // One field of the client's header block, parsed (mail/header.hpp): its raw octets, name and unfolded
    // value. Valid for the call only.
    virtual field_action header(const imf::header_field& /*field*/) { return field_action::keep; }
    // The header block has ended (or the message had none): fields to add go into `changes`. A refusal here
    // drops the message: the rest is read and discarded, and the client hears the refusal.
    virtual asio::awaitable<reply> headers_done(header_changes& /*changes*/) { co_return reply::accept(); }
    // Whether this filter may change the header block or the body at the end (filter_verdict::edits, new_body).
    // Asked once, when the filter is made. True holds the message back from the store until every filter has
    // answered: the header block waits in memory (at most 256 KiB), the body in a temporary file. False lets
    // the message stream into the store as it arrives.
    virtual bool edits_at_end() const noexcept { return false; }
    // The next piece of the body, as it streams (a filter may pass it on, e.g. to a milter, before the next).
    virtual asio::awaitable<void> body(std::span<const char> /*piece*/) { co_return; }
    // The message is complete, before the store commits it.
    virtual asio::awaitable<filter_verdict> end() { co_return filter_verdict::accept(); }
};

}  // namespace mailwright::plugin
