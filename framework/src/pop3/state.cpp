// The POP3 state table: one row per command, one column per state. See the header.
#include "mailwright/pop3/state.hpp"

#include <array>

namespace mailwright::pop3 {

namespace {

constexpr std::size_t state_count = 4;

struct row {
    command cmd;
    // Allowed in: authorization, user_given, transaction, update.
    std::array<bool, state_count> allowed;
    // Leads to on success, and on failure, per state (meaningful only where allowed).
    std::array<state, state_count> leads_to;
    std::array<state, state_count> fails_to;
};

constexpr state A = state::authorization;
constexpr state U = state::user_given;
constexpr state T = state::transaction;
constexpr state X = state::update;

// In user_given, USER starts over with another name and APOP/AUTH start another kind of authentication
// (the name given to USER is forgotten); CAPA may be asked at any time before UPDATE (RFC 2449 5). STLS is
// refused once USER was sent: the name already crossed the wire in the clear, and RFC 2595 4 allows STLS
// only before authentication begins. UTF8 belongs to AUTHORIZATION (RFC 6856 2). No command is allowed in
// UPDATE: the session ends there.
constexpr row table[command_count] = {
    //                 A      U      T      X          A  U  T  X    on failure  A  U  T  X
    {command::user, {true, true, false, false}, {U, U, T, X}, {A, A, T, X}},
    {command::pass, {false, true, false, false}, {A, T, T, X}, {A, A, T, X}},
    {command::apop, {true, true, false, false}, {T, T, T, X}, {A, A, T, X}},
    {command::auth, {true, true, false, false}, {T, T, T, X}, {A, A, T, X}},
    {command::stls, {true, false, false, false}, {A, U, T, X}, {A, U, T, X}},
    {command::capa, {true, true, true, false}, {A, U, T, X}, {A, U, T, X}},
    {command::stat, {false, false, true, false}, {A, U, T, X}, {A, U, T, X}},
    {command::list, {false, false, true, false}, {A, U, T, X}, {A, U, T, X}},
    {command::retr, {false, false, true, false}, {A, U, T, X}, {A, U, T, X}},
    {command::dele, {false, false, true, false}, {A, U, T, X}, {A, U, T, X}},
    {command::noop, {false, false, true, false}, {A, U, T, X}, {A, U, T, X}},
    {command::rset, {false, false, true, false}, {A, U, T, X}, {A, U, T, X}},
    {command::quit, {true, true, true, false}, {X, X, X, X}, {X, X, X, X}},
    {command::top, {false, false, true, false}, {A, U, T, X}, {A, U, T, X}},
    {command::uidl, {false, false, true, false}, {A, U, T, X}, {A, U, T, X}},
    {command::utf8, {true, true, false, false}, {A, U, T, X}, {A, U, T, X}},
};

constexpr bool table_in_command_order() {
    for (std::size_t i = 0; i < command_count; ++i) {
        if (static_cast<std::size_t>(table[i].cmd) != i) {
            return false;
        }
    }
    return true;
}
static_assert(table_in_command_order(), "one row per command, in the order of enum class command");

}  // namespace

std::string_view to_string(state s) noexcept {
    switch (s) {
        case state::authorization:
            return "AUTHORIZATION";
        case state::user_given:
            return "AUTHORIZATION (after USER)";
        case state::transaction:
            return "TRANSACTION";
        case state::update:
            return "UPDATE";
    }
    return "?";
}

bool allowed(command c, state s) noexcept {
    return table[static_cast<std::size_t>(c)].allowed[static_cast<std::size_t>(s)];
}

state after(command c, state s, outcome o) noexcept {
    const auto& r = table[static_cast<std::size_t>(c)];
    return (o == outcome::success ? r.leads_to : r.fails_to)[static_cast<std::size_t>(s)];
}

}  // namespace mailwright::pop3
