// headers_filter: see the header.
#include "headers_filter.hpp"

#include <spdlog/spdlog.h>

#include <mailwright/io/ascii.hpp>

namespace mailwright::headers {

namespace {

constexpr std::string_view authentication_results_name = "Authentication-Results";

std::string_view without_trailing_space(std::string_view text) noexcept {
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
        text.remove_suffix(1);
    }
    return text;
}

}  // namespace

session_facts facts_of(const plugin::event_context& context) {
    session_facts facts;
    facts.user = context.user;
    if (facts.user.empty() && context.envelope != nullptr) {
        facts.user = context.envelope->authenticated_user;
    }
    if (context.tls != nullptr) {
        facts.tls = true;
        facts.tls_version = context.tls->version;
        facts.tls_cipher = context.tls->cipher;
        facts.client_certificate = context.tls->peer.present;
        facts.client_certificate_verified = context.tls->peer.verified;
        facts.client_subject = context.tls->peer.subject;
    }
    return facts;
}

bool field_named(const imf::header_field& field, std::string_view name) {
    if (!field.malformed) {
        return field.is(name);
    }
    const std::size_t colon = field.raw.find(':');
    return colon != std::string_view::npos && io::iequals(without_trailing_space(field.raw.substr(0, colon)), name);
}

std::string field_value(const imf::header_field& field) {
    if (!field.malformed) {
        return field.value;
    }
    const std::size_t colon = field.raw.find(':');
    if (colon == std::string_view::npos) {
        return {};
    }
    // Parsed again without the white space before the colon, so the value unfolds as any other field's.
    const std::string mended = "X:" + std::string(field.raw.substr(colon + 1));
    return imf::parse_field(mended).value;
}

headers_filter::headers_filter(filter_options options, session_facts facts)
    : options_(std::move(options)), facts_(std::move(facts)) {}

plugin::field_action headers_filter::header(const imf::header_field& field) {
    if (field_named(field, authentication_results_name)) {
        // Without regard to case, as the domain names authserv-ids usually are (RFC 8601 2.5, RFC 4343): "OURS"
        // must not pass for another server's id.
        const auto claimed = claimed_authserv_id(field_value(field));
        if (claimed && io::iequals(*claimed, options_.authserv_id)) {
            ++forged_;
            return plugin::field_action::remove;
        }
        return plugin::field_action::keep;  // another server's word: not ours to judge
    }
    if (options_.strip_received && !facts_.user.empty() && field_named(field, "Received")) {
        ++received_;
        return plugin::field_action::remove;
    }
    return plugin::field_action::keep;
}

asio::awaitable<plugin::reply> headers_filter::headers_done(plugin::header_changes& changes) {
    if (forged_ > 0) {
        spdlog::info("session={} plugin=headers removed {} forged Authentication-Results for {}", options_.session,
                     forged_, options_.authserv_id);
    }
    if (received_ > 0) {
        spdlog::debug("session={} plugin=headers removed {} Received fields of {}", options_.session, received_,
                      facts_.user);
    }
    if (options_.add_authentication_results) {
        changes.prepend.push_back(authentication_results(options_.authserv_id, facts_));
    }
    co_return plugin::reply::accept();
}

}  // namespace mailwright::headers
