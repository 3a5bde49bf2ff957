// The SMTP/LMTP client's protocol pieces without I/O: reply parsing (bounded), EHLO keywords, the MAIL and RCPT
// lines, and the SCRAM-SHA-256 client (RFC 5802, RFC 7677). Private to the framework; tests include it.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "mailwright/smtp/client.hpp"

namespace mailwright::smtp::client::detail {

// A hostile or broken server must not make us buffer without bound: a reply line longer than this (RFC 5321
// 4.5.3.1.5 allows 512 octets; real servers stay far below this), or more lines than max_reply_lines in one
// reply, ends the connection.
inline constexpr std::size_t max_reply_line = 2048;
inline constexpr std::size_t max_reply_lines = 128;

// Assembles one reply from its lines (each without its CRLF).
class reply_parser {
  public:
    enum class status {
        more,       // a "250-" line: the reply goes on
        done,       // the last line: take() the reply
        malformed,  // not a reply line, a code that changed within the reply, too many lines; see error()
    };

    // enhanced_codes: the server offered ENHANCEDSTATUSCODES, so a text that starts with a status code of the
    // reply's class carries one (RFC 2034).
    explicit reply_parser(bool enhanced_codes) : enhanced_codes_(enhanced_codes) {}

    status feed(std::string_view line);
    // The reply assembled; the parser is ready for the next one.
    reply take();
    const std::string& error() const noexcept { return error_; }

  private:
    bool enhanced_codes_;
    reply reply_;
    std::string error_;
};

// A reply of our own, for a failure on our side (a lost connection, a deadline, a refused certificate).
reply own_reply(std::uint16_t code, std::string enhanced, std::string text);

// What the server offered in its EHLO/LHLO reply: keyword (upper-case) -> its parameters as sent.
struct capabilities {
    std::map<std::string, std::string, std::less<>> keywords;
    bool has(std::string_view keyword) const { return keywords.find(keyword) != keywords.end(); }
    std::string_view parameters(std::string_view keyword) const;
    // Whether the AUTH keyword lists `mechanism` (case-insensitively).
    bool offers_mechanism(std::string_view mechanism) const;
};
// The keywords of an EHLO/LHLO reply: every line after the first (the server's name and greeting).
capabilities parse_ehlo(const reply& r);

// "MAIL FROM:<...> SIZE=... BODY=... SMTPUTF8 RET=... ENVID=..." with only what the server offered, without
// CRLF; or a refusal of our own when the transaction cannot go to this server as it is (SMTPUTF8 or
// BINARYMIME not offered, an address or parameter that would break the command line).
struct command_line {
    std::string line;
    std::optional<reply> refusal;
};
command_line mail_command(const transaction& t, const capabilities& c);
command_line rcpt_command(const transaction::recipient& r, const capabilities& c);

// The client side of SCRAM-SHA-256 without channel binding ("n,,"). The password is kept only until the
// proof is made.
class scram_client {
  public:
    // nonce: printable, no ','; random when empty (tests fix it).
    scram_client(std::string_view user, std::string password, std::string nonce = {});
    ~scram_client();
    scram_client(const scram_client&) = delete;
    scram_client& operator=(const scram_client&) = delete;

    std::string first_message() const;  // client-first-message
    // The iterations a server-first-message asks for, or nullopt when it is malformed, its nonce does not
    // extend ours, or it asks for more than max_iterations (a hostile server could make us spin).
    std::optional<unsigned> iterations(std::string_view server_first) const;
    // client-final-message for a server-first-message that iterations() accepted; with the salted password
    // computed by the caller (PBKDF2 is slow: the caller runs it off the event loop).
    std::string final_message(std::string_view server_first, std::string_view salted_password);
    // Whether server-final-message proves the server knew the secret too.
    bool verify_server(std::string_view server_final) const;

    // PBKDF2-HMAC-SHA-256 of the password with the server-first-message's salt; empty when malformed.
    std::string salt_password(std::string_view server_first, unsigned iterations) const;

    static constexpr unsigned max_iterations = 1'000'000;

  private:
    std::string first_bare_;
    std::string nonce_;
    std::string password_;
    std::string server_signature_;
};

}  // namespace mailwright::smtp::client::detail
