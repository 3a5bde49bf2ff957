// What the milter filter keeps of a message's event context (valid only while the filter is made), and the
// Sendmail macros it tells each milter at each stage.
#pragma once

#include <cstdint>
#include <mailwright/plugin/hook.hpp>
#include <string>
#include <vector>

#include "protocol.hpp"

namespace mailwright::milter {

struct message_facts {
    std::uint64_t session = 0;
    std::string peer_address;  // numeric; empty when not known
    std::string helo;
    std::string server_name;
    std::string service;  // "smtp", "submission", "lmtp": {daemon_name}
    std::string tls_version;
    std::string tls_cipher;
    std::string cert_subject;
    std::string id;      // the envelope's id: macro i
    std::string sender;  // without angle brackets; empty for <>
    std::vector<std::string> recipients;
    std::string authenticated_user;
};

message_facts facts_of(const plugin::event_context& context);

// The name the milter is told for the client: "localhost" for a loopback address, else "[address]"
// (Sendmail's form for a client without a verified name: no DNS is asked here).
std::string client_name(const message_facts& facts);

// The macros for `which` stage (`recipient` indexes the recipient for stage::rcpt). When the milter asked
// for a list at that stage (SETSYMLIST), only the ones it named that we have; otherwise those common milters
// read (OpenDKIM, rspamd, SpamAssassin's spamass-milter).
std::vector<macro> macros_for(stage which, const message_facts& facts, std::size_t recipient, const agreement& agreed);

}  // namespace mailwright::milter
