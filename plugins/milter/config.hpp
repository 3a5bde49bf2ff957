// [plugin.milter]: the milters to ask about each message, in order, each with its address, its deadlines and
// what to do when it cannot be asked (docs/configuration.md).
#pragma once

#include <chrono>
#include <mailwright/net/connect.hpp>
#include <mailwright/plugin/plugin.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailwright::milter {

// When a milter is down, too slow or breaks the protocol.
enum class fallback {
    tempfail,  // the message is refused for now (451 4.7.1): nothing passes a milter it was meant to see
    accept,    // the milter is skipped for this message
};

struct milter_settings {
    std::string name;  // for the log
    net::endpoint address;
    std::chrono::milliseconds connect_timeout{std::chrono::seconds(5)};
    std::chrono::milliseconds command_timeout{std::chrono::seconds(10)};  // each answer before the end
    std::chrono::milliseconds end_timeout{std::chrono::seconds(60)};      // the answers to the end of the message
    fallback default_action = fallback::tempfail;
    bool replace_body = false;          // offer SMFIF_CHGBODY: the milter may replace the body
    std::vector<std::string> services;  // the services it runs for; empty: all but pop3
};

// A milter's address as Sendmail and Postfix write it: "inet:host:port", "inet:port@host", "inet6:...",
// "unix:/path", "local:/path", or net::endpoint's "host:port", "[v6]:port". Nullopt with *error when wrong.
std::optional<net::endpoint> parse_address(std::string_view text, std::string* error);

// Reads [[plugin.milter.milters]], reporting each mistake at its key through `config`.
std::vector<milter_settings> read_settings(plugin::settings& config);

}  // namespace mailwright::milter
