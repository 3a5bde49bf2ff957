// The PROXY protocol header (HAProxy's doc/proxy-protocol.txt, versions 1 and 2) that a load balancer sends
// before the client's first octet, so the server learns who the client really is. Sans I/O: the parser is fed
// octets as they arrive, buffers at most one header, and says when it has one, how many of the octets it was
// given belong to it (the rest are the client's: a command, a TLS ClientHello), or why the octets are no
// header at all. Nothing here trusts the sender: whether to read a header from a peer is the caller's
// decision (a listener's trusted networks).
//
// Version 1 (2.1): one line "PROXY TCP4|TCP6|UNKNOWN ...\r\n" of at most 107 octets, strict syntax (exactly
// one space, no leading zeros). Version 2 (2.2): the 12-octet signature, version and command (PROXY, LOCAL),
// family and transport, a length, the addresses, then TLVs: AUTHORITY (2.2.2), CRC32C (2.2.3, checked),
// NOOP (2.2.4), UNIQUE_ID (2.2.5), SSL with its sub-TLVs (2.2.6); other types are skipped. Every length is
// checked against what contains it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "mailwright/net/network.hpp"
#include "mailwright/tls/peer.hpp"

namespace mailwright::net::proxy {

// 2.1: the longest version 1 line, CRLF included ("PROXY UNKNOWN" with two full IPv6 addresses and ports).
inline constexpr std::size_t max_v1_line = 107;
// Octets after version 2's 16-octet fixed part. The protocol allows 65,535; what a proxy sends (addresses,
// AUTHORITY up to 255, UNIQUE_ID up to 128, SSL facts) stays far under 1 KiB, and a trusted but broken proxy
// must not make each connection hold 64 KiB.
inline constexpr std::size_t max_v2_payload = 4096;

struct endpoint {
    ip_address address;
    std::uint16_t port = 0;
};

// PP2_TYPE_SSL (2.2.6): what the proxy says about the client's TLS.
struct ssl_facts {
    static constexpr std::uint8_t client_ssl = 0x01;        // PP2_CLIENT_SSL
    static constexpr std::uint8_t client_cert_conn = 0x02;  // PP2_CLIENT_CERT_CONN
    static constexpr std::uint8_t client_cert_sess = 0x04;  // PP2_CLIENT_CERT_SESS

    std::uint8_t client = 0;
    std::uint32_t verify = 1;  // 0: the client presented a certificate and it was verified
    std::string version;       // PP2_SUBTYPE_SSL_VERSION, "TLSv1.3"
    std::string common_name;   // PP2_SUBTYPE_SSL_CN
    std::string cipher;        // PP2_SUBTYPE_SSL_CIPHER
    std::string sig_alg;       // PP2_SUBTYPE_SSL_SIG_ALG
    std::string key_alg;       // PP2_SUBTYPE_SSL_KEY_ALG

    bool used_tls() const noexcept { return (client & client_ssl) != 0; }
    bool certificate_presented() const noexcept { return (client & (client_cert_conn | client_cert_sess)) != 0; }
    bool certificate_verified() const noexcept { return certificate_presented() && verify == 0; }
};

struct header {
    int version = 0;  // 1 or 2
    // LOCAL (a proxy's own health check), v1 UNKNOWN, or a family the server does not take (AF_UNIX, AF_UNSPEC,
    // datagrams): no client addresses, the connection's own are kept.
    bool local = false;
    endpoint source;        // the client (not set when local)
    endpoint destination;   // the address the client connected to (not set when local)
    std::string authority;  // PP2_TYPE_AUTHORITY: the host name the client asked for (SNI with TLS)
    std::string unique_id;  // PP2_TYPE_UNIQUE_ID, opaque octets
    std::optional<ssl_facts> ssl;
    bool checksummed = false;  // a PP2_TYPE_CRC32C was present and matched
};

class parser {
  public:
    enum class status { need_more, done, malformed };
    struct result {
        status what = status::need_more;
        // Octets of the chunk just fed that belong to the header: all of them while more is needed, those up
        // to the header's end when done (the rest are the client's).
        std::size_t consumed = 0;
        std::string_view reason;  // why the octets are no header (malformed), for the log
    };

    // Feeds the next octets. After done or malformed the parser takes nothing more (returns the same status,
    // consumed 0).
    result feed(std::span<const char> octets);
    result feed(std::string_view octets) { return feed(std::span<const char>(octets.data(), octets.size())); }

    // The header, once feed() said done.
    const header& value() const noexcept { return header_; }

  private:
    result fail(std::string_view reason);
    result feed_v1(std::span<const char> octets);
    result feed_v2(std::span<const char> octets);

    std::string buffer_;  // the header's octets so far
    std::size_t v2_total_ = 0;
    status state_ = status::need_more;
    std::string_view reason_;
    header header_;
};

// CRC32C (Castagnoli, RFC 4960 appendix B), as 2.2.3 uses it.
std::uint32_t crc32c(std::span<const unsigned char> octets) noexcept;

// The client's TLS as a session sees it when the proxy ended TLS: version, cipher, SNI (AUTHORITY) and a
// client certificate that is present and verified only as the proxy says, with only its CN (no DER: no
// fingerprint, no subject alternative names). No channel binding: the channel is the proxy's. Nothing when
// the header says the client did not use TLS.
std::optional<tls::channel_info> proxied_channel(const header& h);

}  // namespace mailwright::net::proxy
