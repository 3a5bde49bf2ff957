// The SMTP and LMTP client (RFC 5321, RFC 2033): what a plugin uses to hand a message to another server
// (plugins/forward) while its own client waits. A coroutine over net::stream, with the deadlines of RFC 5321
// 4.5.3.2 on every step: EHLO/LHLO (HELO when an SMTP server knows no EHLO), STARTTLS (RFC 3207) or implicit
// TLS (RFC 8314) verified against a CA file or the system store, or a pinned certificate, AUTH (RFC 4954:
// SCRAM-SHA-256, PLAIN, LOGIN, never in the clear), PIPELINING (RFC 2920), SIZE (RFC 1870), 8BITMIME (RFC 6152),
// SMTPUTF8 (RFC 6531), CHUNKING (RFC 3030) when offered, DSN parameters (RFC 3461) when offered, and
// dot-stuffing on the way out. Replies are parsed into plugin::reply, enhanced status codes (RFC 3463)
// included, so a next hop's answer can be handed to our own client as it is.
//
// A session is one connection: open() it, then any number of transactions (start(), write()..., finish(), or
// reset() to give one up), then quit(). It is not shared between coroutines.
#pragma once

#include <asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mailwright/net/connect.hpp"
#include "mailwright/plugin/reply.hpp"

namespace mailwright::smtp::client {

enum class protocol { smtp, lmtp };

struct tls_options {
    enum class mode {
        none,      // plaintext (a unix socket, a next hop on loopback)
        starttls,  // STARTTLS, required: a server that does not offer it gets no message (4xx)
        implicit,  // TLS from the first octet (port 465)
    };
    mode use = mode::none;
    bool verify = true;       // check the certificate chain and the name; false: any certificate (logged)
    std::string ca_file;      // PEM bundle to verify against; empty: the system's store
    std::string server_name;  // SNI and the name the certificate must carry; empty: the endpoint's host
    std::string fingerprint;  // "sha256:<hex>" of the certificate (DER): when set, the pin decides alone
    std::chrono::milliseconds handshake_timeout{std::chrono::seconds(60)};
};

struct options {
    protocol kind = protocol::smtp;
    std::string helo_name = "localhost";  // our name in EHLO/LHLO
    tls_options tls;
    // AUTH when user is set: the first of SCRAM-SHA-256, PLAIN, LOGIN the server offers; only over TLS unless
    // plaintext_auth (a unix socket or loopback next hop).
    std::string user;
    std::string password;
    bool plaintext_auth = false;
    // RFC 5321 4.5.3.2's minimums, shortened where a next hop on a LAN answers at once.
    std::chrono::milliseconds connect_timeout{std::chrono::seconds(30)};
    std::chrono::milliseconds command_timeout{std::chrono::minutes(5)};  // greeting, EHLO, MAIL, RCPT, ...
    std::chrono::milliseconds data_timeout{std::chrono::minutes(3)};     // each write of the message
    std::chrono::milliseconds final_timeout{std::chrono::minutes(10)};   // the reply after the message
};

// A reply from the server (all its lines), or one we make up for a failure of our own (a lost connection,
// a deadline): 4xx with enhanced code 4.4.x.
struct reply {
    std::uint16_t code = 0;
    std::string enhanced;            // "2.1.5" when the server sent one (ENHANCEDSTATUSCODES); else empty
    std::vector<std::string> lines;  // the text of each line, without code, separator and enhanced code
    bool positive() const noexcept { return code / 100 == 2 || code / 100 == 3; }
    // As plugin::reply: the code, enhanced code and first line's text, for our own client to hear.
    plugin::reply to_plugin() const;
    std::string to_string() const;  // "550 5.1.1 text" (the first line), for the log
};

// One message's envelope as the next hop hears it.
struct transaction {
    std::string sender;  // the reverse-path without brackets; empty: <>
    struct recipient {
        std::string address;  // the forward-path without brackets
        std::string notify;   // RFC 3461, sent only when the server offers DSN
        std::string orcpt;
    };
    std::vector<recipient> recipients;
    std::optional<std::uint64_t> size;  // SIZE=, when the server offers SIZE
    std::string body = "7BIT";          // BODY= 8BITMIME or BINARYMIME when offered (BINARYMIME needs CHUNKING)
    bool smtputf8 = false;              // SMTPUTF8 on MAIL; a server that does not offer it refuses (550 5.6.7)
    std::string ret;                    // RFC 3461, sent only when DSN is offered
    std::string envid;
};

// What MAIL and the RCPTs got. The message goes on (write(), finish()) only if `sender` is positive and some
// recipient is; otherwise the session is already reset for the next transaction.
struct started {
    reply sender;
    std::vector<reply> recipients;   // one per transaction recipient, in order
    bool accepted() const noexcept;  // MAIL and at least one RCPT positive, and DATA (when sent) said 354
    reply data;                      // DATA's 354 (or its refusal); empty code with CHUNKING (BDAT needs none)
};

class session {
  public:
    struct open_result {
        std::unique_ptr<client::session> session;  // null on failure (the type qualified: g++ refuses a member
                                                   // that changes what `session` means inside the class)
        reply failure;                             // why not: the server's refusal or a 4xx of our own
    };
    // Connects, reads the greeting, says EHLO/LHLO, runs STARTTLS and says EHLO again, authenticates.
    static asio::awaitable<open_result> open(const net::endpoint& where, const options& o);

    ~session();
    session(const session&) = delete;
    session& operator=(const session&) = delete;

    // What the server offered in its last EHLO/LHLO reply (keywords upper-case).
    bool offers(std::string_view keyword) const;
    std::optional<std::uint64_t> size_limit() const;  // SIZE's number, when given and not 0
    bool encrypted() const noexcept;
    // Whether another transaction may be started on this connection (it has not failed or been closed).
    bool usable() const noexcept;

    // MAIL FROM and every RCPT TO (pipelined when offered), then DATA unless CHUNKING is used.
    asio::awaitable<started> start(const transaction& t);
    // The next piece of the message, CRLF line ends: dot-stuffed after DATA, one BDAT chunk with CHUNKING.
    // False: the connection failed; finish() then answers with our own 4xx.
    asio::awaitable<bool> write(std::span<const char> piece);
    // The end of the message ("." or BDAT LAST) and the answers: SMTP one reply for every accepted recipient;
    // LMTP one per accepted recipient (RFC 2033 4.2). Either way the result has one entry per transaction
    // recipient, in order; a recipient refused at RCPT keeps its RCPT reply.
    asio::awaitable<std::vector<reply>> finish();
    // Gives up the transaction in progress: RSET, or closes the connection when in the middle of the data.
    asio::awaitable<void> reset();
    // NOOP: whether the connection still answers (a pooled connection before reuse).
    asio::awaitable<bool> alive();
    // Between transactions, idle (in a pool): nothing of the connection waits on its event loop meanwhile.
    void park() noexcept;
    asio::awaitable<void> quit();

    struct impl;

  private:
    explicit session(std::unique_ptr<impl> i);
    std::unique_ptr<impl> impl_;
};

}  // namespace mailwright::smtp::client
