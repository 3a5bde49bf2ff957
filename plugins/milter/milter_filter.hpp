// The milter plugin's message filter (one per message): asks each configured milter in order about the
// message, over a connection of its own, and turns their answers into the filter's say.
//
// A filter call is the first moment a coroutine may run, so the whole envelope is told at headers_done():
// connect, HELO, MAIL, each RCPT, DATA, the header fields (kept as header() saw them), the end of the header.
// The body goes on as it streams (body()), and the end of the message at end(), where the milters' header
// changes become filter_verdict::edits and a replacement body new_body.
//
// What each answer does: reject and tempfail (or a REPLYCODE) at a recipient refuse that recipient, at any
// other step the message; discard drops the message (the client hears success); accept ends that milter's
// say with no objection; quarantine refuses the message (554 5.7.1, its reason in the text: this server has
// no hold queue). A milter that cannot be reached, misses a deadline or breaks the protocol gets its
// default_action: tempfail refuses the message for now (451 4.7.1 "milter unavailable"), accept skips it.
#pragma once

#include <asio/awaitable.hpp>
#include <cstddef>
#include <cstdint>
#include <mailwright/plugin/filter.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "body_spool.hpp"
#include "config.hpp"
#include "conversation.hpp"
#include "facts.hpp"

namespace mailwright::milter {

class milter_filter final : public plugin::message_filter {
  public:
    // `milters` belong to the hook and outlive the filter.
    milter_filter(std::vector<const milter_settings*> milters, message_facts facts);

    std::string_view name() const noexcept override { return "milter"; }
    plugin::field_action header(const imf::header_field& field) override;
    asio::awaitable<plugin::reply> headers_done(plugin::header_changes& changes) override;
    bool edits_at_end() const noexcept override { return true; }
    asio::awaitable<void> body(std::span<const char> piece) override;
    asio::awaitable<plugin::filter_verdict> end() override;

  private:
    struct peer {
        std::unique_ptr<conversation> talk;
        bool done = false;       // accepted, refused, skipped or given up: nothing more is said to it
        bool skip_body = false;  // it answered SMFIR_SKIP
    };
    struct field {
        std::string name;
        std::string rest;  // after the colon, the line ends as received
    };
    // What one milter did at the end of the message, kept only if it then accepts.
    struct end_changes {
        std::vector<plugin::field_edit> edits;
        std::unique_ptr<body_spool> body;
        std::size_t edit_octets = 0;    // the header changes' names and values so far
        std::uint64_t body_octets = 0;  // the replacement body so far
        std::string quarantine;
        bool quarantined = false;
    };

    asio::awaitable<void> start();
    asio::awaitable<void> tell_envelope(peer& p);
    asio::awaitable<bool> tell_recipients(peer& p);
    asio::awaitable<void> tell_header(peer& p);
    asio::awaitable<void> finish(peer& p);
    asio::awaitable<bool> take_change(peer& p, const response& r, end_changes& changes);
    // Acts on an answer; true when the conversation goes on.
    bool settle(peer& p, const answer& a);
    void give_up(peer& p);
    void log_decision(const peer& p, std::string_view what) const;
    bool decided() const noexcept { return refusal_.has_value() || discard_; }
    asio::awaitable<void> close_all();

    std::vector<peer> peers_;
    message_facts facts_;
    std::vector<field> fields_;
    bool started_ = false;
    std::optional<plugin::reply> refusal_;  // the message's refusal, once a milter decided it
    bool discard_ = false;
    std::vector<plugin::reply> recipients_;
    std::vector<plugin::field_edit> edits_;
    std::shared_ptr<plugin::message_reader> new_body_;
};

// The reply for a milter's refusal: its REPLYCODE's words, else the protocol's usual ones.
plugin::reply refusal_of(const answer& a);

}  // namespace mailwright::milter
