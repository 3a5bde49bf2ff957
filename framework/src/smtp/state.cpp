// The SMTP state table: one row per verb, one column per state. See the header.
#include "mailwright/smtp/state.hpp"

#include <array>

namespace mailwright::smtp {

namespace {

constexpr std::size_t state_count = 5;

constexpr group_rule goes_on = group_rule::continues;
constexpr group_rule ends = group_rule::ends;
constexpr group_rule own = group_rule::own;

struct row {
    verb v;
    std::array<bool, state_count> allowed;    // connected, greeted, mail, rcpt, chunking
    std::array<state, state_count> leads_to;  // meaningful only where allowed
    bool before_tls;                          // allowed before STARTTLS where the listener requires TLS
    group_rule group;                         // RFC 2920 3.1
};

constexpr state C = state::connected;
constexpr state G = state::greeted;
constexpr state M = state::mail;
constexpr state R = state::rcpt;
constexpr state K = state::chunking;

// VRFY and EXPN are answered in any state outside a BDAT sequence (RFC 5321 3.5.3); HELP, NOOP and QUIT
// always. RSET from `connected` stays there: it cannot stand in for a greeting. AUTH is allowed once greeted
// and outside a transaction (RFC 4954 4); the session refuses a second one. Before TLS (where required): the
// greetings, STARTTLS itself, and NOOP, RSET and QUIT, which reveal and change nothing (Postfix's list).
// The verbs that end a group are RFC 2920 3.1's (EHLO, HELO, DATA, VRFY, EXPN, NOOP), with LHLO and AUTH,
// whose exchange cannot be pipelined. XCLIENT (Postfix's) is allowed outside a transaction, before TLS too (the
// proxy's own connection may be plain), and leads back to `connected` as if the client had just connected: the
// server greets again and the client must EHLO again. It ends a group: the proxy waits for the new greeting
// (XCLIENT_README: "should be sent at the end of a command group").
constexpr row table[verb_count] = {
    //                          C      G      M      R      K          C  G  M  R  K  before TLS
    {verb::ehlo, {true, true, true, true, false}, {G, G, G, G, K}, true, ends},
    {verb::helo, {true, true, true, true, false}, {G, G, G, G, K}, true, ends},
    {verb::lhlo, {true, true, true, true, false}, {G, G, G, G, K}, true, ends},
    {verb::mail, {false, true, false, false, false}, {C, M, M, R, K}, false, goes_on},
    {verb::rcpt, {false, false, true, true, false}, {C, G, R, R, K}, false, goes_on},
    {verb::data, {false, false, false, true, false}, {C, G, M, G, K}, false, ends},
    {verb::bdat, {false, false, false, true, true}, {C, G, M, K, K}, false, own},
    {verb::rset, {true, true, true, true, true}, {C, G, G, G, G}, true, goes_on},
    {verb::noop, {true, true, true, true, true}, {C, G, M, R, K}, true, ends},
    {verb::quit, {true, true, true, true, true}, {C, G, M, R, K}, true, own},
    {verb::vrfy, {true, true, true, true, false}, {C, G, M, R, K}, false, ends},
    {verb::expn, {true, true, true, true, false}, {C, G, M, R, K}, false, ends},
    {verb::help, {true, true, true, true, true}, {C, G, M, R, K}, false, goes_on},
    {verb::starttls, {false, true, false, false, false}, {C, C, M, R, K}, true, own},
    {verb::auth, {false, true, false, false, false}, {C, G, M, R, K}, false, ends},
    {verb::xclient, {true, true, false, false, false}, {C, C, M, R, K}, true, ends},
};

constexpr bool table_in_verb_order() {
    for (std::size_t i = 0; i < verb_count; ++i) {
        if (static_cast<std::size_t>(table[i].v) != i) {
            return false;
        }
    }
    return true;
}
static_assert(table_in_verb_order(), "one row per verb, in the order of enum class verb");

}  // namespace

std::string_view to_string(state s) noexcept {
    switch (s) {
        case state::connected:
            return "before HELO/EHLO";
        case state::greeted:
            return "outside a transaction";
        case state::mail:
            return "after MAIL";
        case state::rcpt:
            return "after RCPT";
        case state::chunking:
            return "inside BDAT";
    }
    return "?";
}

std::string_view name(state s) noexcept {
    switch (s) {
        case state::connected:
            return "connected";
        case state::greeted:
            return "greeted";
        case state::mail:
            return "mail";
        case state::rcpt:
            return "rcpt";
        case state::chunking:
            return "chunking";
    }
    return "?";
}

bool allowed(verb v, state s) noexcept {
    return table[static_cast<std::size_t>(v)].allowed[static_cast<std::size_t>(s)];
}

state after(verb v, state s) noexcept {
    return table[static_cast<std::size_t>(v)].leads_to[static_cast<std::size_t>(s)];
}

state after_message(state s) noexcept {
    // DATA ends from `rcpt`, a BDAT sequence from `chunking` (or from `rcpt` when its first chunk was LAST).
    return s == state::rcpt || s == state::chunking ? state::greeted : s;
}

bool allowed_before_tls(verb v) noexcept { return table[static_cast<std::size_t>(v)].before_tls; }

group_rule group_rule_of(verb v) noexcept { return table[static_cast<std::size_t>(v)].group; }

}  // namespace mailwright::smtp
