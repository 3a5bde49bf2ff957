// The SMTP state table: one row per verb, one column per state. See the header.
#include "mailwright/smtp/state.hpp"

#include <array>

namespace mailwright::smtp {

namespace {

constexpr std::size_t state_count = 5;

struct row {
    verb v;
    std::array<bool, state_count> allowed;    // connected, greeted, mail, rcpt, chunking
    std::array<state, state_count> leads_to;  // meaningful only where allowed
};

constexpr state C = state::connected;
constexpr state G = state::greeted;
constexpr state M = state::mail;
constexpr state R = state::rcpt;
constexpr state K = state::chunking;

// VRFY and EXPN are answered in any state outside a BDAT sequence (RFC 5321 3.5.3); HELP, NOOP and QUIT
// always. RSET from `connected` stays there: it cannot stand in for a greeting. AUTH is allowed once greeted
// and outside a transaction (RFC 4954 4); the session refuses a second one.
constexpr row table[verb_count] = {
    //                          C      G      M      R      K          C  G  M  R  K
    {verb::ehlo, {true, true, true, true, false}, {G, G, G, G, K}},
    {verb::helo, {true, true, true, true, false}, {G, G, G, G, K}},
    {verb::lhlo, {true, true, true, true, false}, {G, G, G, G, K}},
    {verb::mail, {false, true, false, false, false}, {C, M, M, R, K}},
    {verb::rcpt, {false, false, true, true, false}, {C, G, R, R, K}},
    {verb::data, {false, false, false, true, false}, {C, G, M, G, K}},
    {verb::bdat, {false, false, false, true, true}, {C, G, M, K, K}},
    {verb::rset, {true, true, true, true, true}, {C, G, G, G, G}},
    {verb::noop, {true, true, true, true, true}, {C, G, M, R, K}},
    {verb::quit, {true, true, true, true, true}, {C, G, M, R, K}},
    {verb::vrfy, {true, true, true, true, false}, {C, G, M, R, K}},
    {verb::expn, {true, true, true, true, false}, {C, G, M, R, K}},
    {verb::help, {true, true, true, true, true}, {C, G, M, R, K}},
    {verb::starttls, {false, true, false, false, false}, {C, C, M, R, K}},
    {verb::auth, {false, true, false, false, false}, {C, G, M, R, K}},
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

bool allowed(verb v, state s) noexcept {
    return table[static_cast<std::size_t>(v)].allowed[static_cast<std::size_t>(s)];
}

state after(verb v, state s) noexcept {
    return table[static_cast<std::size_t>(v)].leads_to[static_cast<std::size_t>(s)];
}

}  // namespace mailwright::smtp
