// trace_name: see the header. A name the client chose goes into every stored message: raw, a U+2028 or an
// unbalanced "(" would corrupt the header for readers and the next hop, in a message that never said SMTPUTF8.
#include "trace_name.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <array>

namespace mailwright::smtp {

namespace {

bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

bool parses_as(int family, std::string_view text) {
    if (text.empty() || text.size() > 45) {  // the longest IPv6 text form (with an IPv4 tail) is 45 octets
        return false;
    }
    std::array<char, 46> nul_terminated{};
    text.copy(nul_terminated.data(), text.size());
    std::array<unsigned char, 16> address{};
    return ::inet_pton(family, nul_terminated.data(), address.data()) == 1;
}

}  // namespace

bool is_ldh_domain(std::string_view name) {
    if (name.empty() || name.size() > 255) {
        return false;
    }
    std::size_t label = 0;  // octets of the current label
    for (std::size_t i = 0; i < name.size(); ++i) {
        const char c = name[i];
        if (c == '.') {
            if (label == 0 || name[i - 1] == '-') {
                return false;  // an empty label, or one ending with a hyphen
            }
            label = 0;
            continue;
        }
        if (!is_alnum(c) && !(c == '-' && label > 0)) {
            return false;  // only letters, digits and inner hyphens
        }
        if (++label > 63) {
            return false;
        }
    }
    return label > 0 && name.back() != '-';
}

bool is_address_literal(std::string_view name) {
    if (name.size() < 3 || name.front() != '[' || name.back() != ']') {
        return false;
    }
    const std::string_view inside = name.substr(1, name.size() - 2);
    constexpr std::string_view v6 = "IPv6:";
    if (inside.substr(0, v6.size()) == v6) {
        return parses_as(AF_INET6, inside.substr(v6.size()));
    }
    return parses_as(AF_INET, inside);  // inet_pton takes only the dotted quad for AF_INET
}

std::string received_from(std::string_view helo, std::string_view peer, std::string_view name) {
    const std::string client = is_ldh_domain(name) ? fmt::format("{} [{}]", name, peer) : fmt::format("[{}]", peer);
    if (is_ldh_domain(helo) || is_address_literal(helo)) {
        return fmt::format("{} ({})", helo, client);
    }
    if (helo.empty()) {
        return fmt::format("unknown ({})", client);
    }
    std::string safe(helo);
    for (char& c : safe) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x21 || u > 0x7e || c == '(' || c == ')' || c == '\\' || c == '"') {
            c = '?';
        }
    }
    return fmt::format("unknown ({} helo={})", client, safe);
}

}  // namespace mailwright::smtp
