// The headers plugin's message filter (one per message): writes Authentication-Results (RFC 8601) for what the
// session knew, removes the client's Authentication-Results fields that claim this server's authserv-id
// (RFC 8601 5: only this server may say what it verified), and, when configured, removes the client's
// Received fields from messages submitted after SMTP AUTH (privacy: they name the user's own machines).
//
// The filter sees the client's header block only: the Return-Path and the Received field this server writes
// for the message stand above it, are never shown to filters, and are never removed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mailwright/imf/header.hpp>
#include <mailwright/plugin/filter.hpp>
#include <mailwright/plugin/hook.hpp>
#include <string>
#include <string_view>

#include "authres.hpp"

namespace mailwright::headers {

struct filter_options {
    std::string authserv_id;  // ours: written, and forged when a client sends it
    bool add_authentication_results = true;
    bool strip_received = false;  // the client's Received fields, after SMTP AUTH only
    std::uint64_t session = 0;    // for the log
};

// What the filter keeps of the event context, which is valid only during the call that makes the filter.
session_facts facts_of(const plugin::event_context& context);

// Whether the field is named `name` (case-insensitively), also in the obsolete form with white space before
// the colon (RFC 5322 4.5.x obs-optional), which parsers still read: a forged field must not pass that way.
bool field_named(const imf::header_field& field, std::string_view name);

// The field's unfolded value, for that obsolete form too.
std::string field_value(const imf::header_field& field);

class headers_filter final : public plugin::message_filter {
  public:
    headers_filter(filter_options options, session_facts facts);

    std::string_view name() const noexcept override { return "headers"; }
    plugin::field_action header(const imf::header_field& field) override;
    asio::awaitable<plugin::reply> headers_done(plugin::header_changes& changes) override;

    std::size_t forged_removed() const noexcept { return forged_; }
    std::size_t received_removed() const noexcept { return received_; }

  private:
    filter_options options_;
    session_facts facts_;
    std::size_t forged_ = 0;
    std::size_t received_ = 0;
};

}  // namespace mailwright::headers
