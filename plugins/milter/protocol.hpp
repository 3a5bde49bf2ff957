// The milter protocol (Sendmail's libmilter wire format, version 6), the MTA's side, without I/O: the commands
// we send encoded as packets, the milter's responses decoded from octets however the network splits them, and
// the option negotiation. No Asio here, so the unit tests and the fuzz target drive it with plain strings.
//
// Every packet is a 32-bit length in network order, counting what follows it: a one-letter command or response
// code and its data. Strings in the data end with a NUL; numbers are 32-bit (16-bit for connect's port), in
// network order.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mailwright::milter {

inline constexpr std::uint32_t protocol_version = 6;
// A body packet carries at most this much (libmilter's MILTER_CHUNK_SIZE); we never offer the larger sizes
// (SMFIP_MDS_256K, _1M), so a milter's replacement body comes in pieces this size too.
inline constexpr std::size_t max_body_chunk = 65535;
// The longest response we take: 1 MiB and a little for the code and the index, far above any legitimate one
// (a header, a reply, a 64 KiB body piece), so a corrupt or hostile length is an error, never an allocation.
inline constexpr std::size_t max_response = 1024 * 1024 + 64;

// What the MTA sends (SMFIC_*).
namespace command {
inline constexpr char optneg = 'O', macro = 'D', connect = 'C', helo = 'H', mail = 'M', rcpt = 'R', data = 'T',
                      header = 'L', eoh = 'N', body = 'B', end_of_body = 'E', abort = 'A', quit = 'Q';
}

// What a milter answers (SMFIR_*).
namespace response_code {
inline constexpr char accept = 'a', continue_ = 'c', discard = 'd', reject = 'r', tempfail = 't', reply_code = 'y',
                      add_header = 'h', insert_header = 'i', change_header = 'm', add_rcpt = '+', delete_rcpt = '-',
                      add_rcpt_par = '2', change_from = 'e', replace_body = 'b', quarantine = 'q', progress = 'p',
                      skip = 's', connection_fail = 'f', shutdown = '4', set_symlist = 'l', optneg = 'O';
}

// The actions a milter may take at the end of a message (SMFIF_*), offered by the MTA in the negotiation.
namespace action {
inline constexpr std::uint32_t add_headers = 0x01, change_body = 0x02, add_rcpt = 0x04, delete_rcpt = 0x08,
                               change_headers = 0x10, quarantine = 0x20, change_from = 0x40, add_rcpt_par = 0x80,
                               set_symlist = 0x100;
}

// The protocol flags (SMFIP_*): steps a milter does not want (no_*), steps it does not answer (nr_*), and
// abilities of the MTA.
namespace flag {
inline constexpr std::uint32_t no_connect = 0x01, no_helo = 0x02, no_mail = 0x04, no_rcpt = 0x08, no_body = 0x10,
                               no_headers = 0x20, no_eoh = 0x40, nr_header = 0x80, no_unknown = 0x100, no_data = 0x200,
                               skip = 0x400, rcpt_rej = 0x800, nr_connect = 0x1000, nr_helo = 0x2000, nr_mail = 0x4000,
                               nr_rcpt = 0x8000, nr_data = 0x10000, nr_unknown = 0x20000, nr_eoh = 0x40000,
                               nr_body = 0x80000, header_leading_space = 0x100000;
}

// The stages a milter may ask macros for (SMFIM_*), in SETSYMLIST's numbering.
enum class stage : std::uint32_t { connect = 0, helo = 1, mail = 2, rcpt = 3, data = 4, end_of_message = 5, eoh = 6 };
inline constexpr std::size_t stage_count = 7;

// The steps of a conversation that a milter may turn off or leave unanswered.
enum class step { connect, helo, mail, rcpt, data, header, eoh, body };

struct macro {
    std::string name;  // "j", "{daemon_name}", "i"
    std::string value;
};

// --- The MTA's commands, each a whole packet. A NUL inside a string would end it early: it becomes a space.

std::string encode_optneg(std::uint32_t version, std::uint32_t actions, std::uint32_t flags);
// Macros for the command `for_command` that follows (command::connect, helo, mail, rcpt, data, eoh,
// end_of_body).
std::string encode_macros(char for_command, std::span<const macro> macros);
// The client: `hostname` (its name, or "[address]"), and its numeric address with the family from its form
// ('4', '6'; an IPv4-mapped IPv6 address is sent as IPv4), or the unknown family when `address` is empty.
std::string encode_connect(std::string_view hostname, std::string_view address, std::uint16_t port);
std::string encode_helo(std::string_view name);
// MAIL and RCPT: the path in angle brackets, then each ESMTP parameter as its own string.
std::string encode_mail(std::string_view sender, std::span<const std::string> parameters = {});
std::string encode_rcpt(std::string_view recipient, std::span<const std::string> parameters = {});
std::string encode_header(std::string_view name, std::string_view value);
// A chunk of the body, at most max_body_chunk octets (the rest is cut off): the caller cuts a longer piece,
// since the milter answers each packet.
std::string encode_body(std::string_view chunk);
// The commands without data: command::data, eoh, end_of_body, abort, quit.
std::string encode_bare(char code);

// --- The milter's responses.

// A milter's SMTP reply (SMFIR_REPLYCODE): "550 5.7.1 text", possibly several lines "550-...\r\n550 ...".
struct smtp_reply {
    std::uint16_t code = 0;  // 4xx or 5xx
    std::string enhanced;    // "5.7.1", or empty
    std::string text;        // the lines' texts joined by spaces
};

// The milter's answer to our offer (SMFIC_OPTNEG's reply), with the macros it wants at each stage.
struct negotiation {
    std::uint32_t version = 0;
    std::uint32_t actions = 0;
    std::uint32_t flags = 0;
    std::array<std::optional<std::vector<std::string>>, stage_count> macros;  // per stage; none: send ours
};

struct response {
    char code = 0;            // response_code::*
    std::uint32_t index = 0;  // insert_header, change_header; the stage of set_symlist
    std::string name;         // a header's name; the address of add_rcpt/delete_rcpt/change_from
    std::string value;        // a header's value; the quarantine reason; ESMTP parameters of add_rcpt_par
    std::string data;         // replace_body's octets
    smtp_reply reply;         // reply_code
    negotiation options;      // optneg
};

// Parses one REPLYCODE text; nullopt when it is not "4xx/5xx[ enhanced] text" on each line with one code.
std::optional<smtp_reply> parse_reply_code(std::string_view text);

// Reads responses from the octets a milter sends, in any pieces. After an error it takes nothing more: the
// conversation is broken.
class decoder {
  public:
    explicit decoder(std::size_t limit = max_response) : limit_(limit) {}

    // Adds `octets`; every response they complete is appended to `out`, in order. False on a protocol error
    // (error() says which); the responses before it are still appended.
    bool feed(std::string_view octets, std::vector<response>& out);

    const std::string& error() const noexcept { return error_; }
    bool failed() const noexcept { return !error_.empty(); }
    // Whether a response has started and not ended.
    bool partial() const noexcept { return !header_.empty() || need_ != 0; }

  private:
    bool complete(std::vector<response>& out);

    std::size_t limit_;
    std::string header_;  // the length's octets so far
    std::size_t need_ = 0;
    std::string packet_;  // the packet's octets so far
    std::string error_;
};

// Parses one packet's code and data; nullopt with *error on malformed data.
std::optional<response> parse_response(char code, std::string_view data, std::string* error);

// --- The negotiation.

// What we offer: version 6, the actions allowed (add and change headers, quarantine, the macro lists; the body
// only when `replace_body`), and every step flag we honour.
struct offer {
    std::uint32_t version = protocol_version;
    std::uint32_t actions = 0;
    std::uint32_t flags = 0;
};
offer our_offer(bool replace_body);

// What both sides agreed on.
struct agreement {
    std::uint32_t version = 0;
    std::uint32_t actions = 0;  // what the milter asked for that we offered
    std::uint32_t flags = 0;
    std::uint32_t dropped_actions = 0;  // asked for and not offered: refused to it, for the log
    std::uint32_t dropped_flags = 0;
    std::array<std::optional<std::vector<std::string>>, stage_count> macros;

    bool sends(step s) const noexcept;    // whether the milter wants this step
    bool replies(step s) const noexcept;  // whether it answers it (only meaningful when sent)
    bool allows(std::uint32_t a) const noexcept { return (actions & a) == a; }
};
// Nullopt with *error when the milter speaks a version we cannot (below 2, above ours).
std::optional<agreement> negotiate(const offer& ours, const negotiation& theirs, std::string* error);

}  // namespace mailwright::milter
