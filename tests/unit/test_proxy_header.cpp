// The PROXY protocol header parser (net/proxy_header.hpp): every valid and invalid example fed whole, cut at
// every point (a prefix, then the rest) and octet by octet, with the client's first octets behind it.
#include "mailwright/net/proxy_header.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

using namespace mailwright::net;
using proxy::parser;

namespace {

// What follows the header on the wire: the client's own first octets, which must come through untouched.
const std::string client_octets = "EHLO client.example\r\n";

std::string be16(unsigned v) { return {static_cast<char>(v >> 8), static_cast<char>(v & 0xff)}; }
std::string be32(std::uint32_t v) {
    return {static_cast<char>(v >> 24), static_cast<char>((v >> 16) & 0xff), static_cast<char>((v >> 8) & 0xff),
            static_cast<char>(v & 0xff)};
}
std::string tlv(unsigned type, const std::string& value) {
    return std::string(1, static_cast<char>(type)) + be16(static_cast<unsigned>(value.size())) + value;
}

const std::string signature("\r\n\r\n\0\r\nQUIT\n", 12);

// A version 2 header: command octet, family octet, then the payload (addresses and TLVs).
std::string v2(unsigned ver_cmd, unsigned family, const std::string& payload) {
    return signature + static_cast<char>(ver_cmd) + static_cast<char>(family) +
           be16(static_cast<unsigned>(payload.size())) + payload;
}

std::string inet(const std::string& src, const std::string& dst, unsigned sport, unsigned dport) {
    return src + dst + be16(sport) + be16(dport);
}
const std::string src4("\xc0\x00\x02\x01", 4);                             // 192.0.2.1
const std::string dst4("\xc6\x33\x64\x02", 4);                             // 198.51.100.2
const std::string src6("\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);  // 2001:db8::1
const std::string dst6("\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x02", 16);  // 2001:db8::2

// The same header with a CRC32C TLV at its end, filled in as a sender does (2.2.3).
std::string with_crc(unsigned ver_cmd, unsigned family, const std::string& payload) {
    std::string h = v2(ver_cmd, family, payload + tlv(0x03, std::string(4, '\0')));
    const auto crc = proxy::crc32c({reinterpret_cast<const unsigned char*>(h.data()), h.size()});
    h.replace(h.size() - 4, 4, be32(crc));
    return h;
}

// Feeds `header + client_octets` cut at `cut` (and octet by octet when cut is npos); the outcome, the header's
// length as the parser counted it, and the parser.
struct outcome {
    parser::status what;
    std::size_t consumed = 0;
    std::string_view reason;
};

outcome feed_in_pieces(parser& p, const std::string& wire, std::size_t cut) {
    std::vector<std::string_view> pieces;
    const std::string_view all(wire);
    if (cut == std::string::npos) {
        for (std::size_t i = 0; i < all.size(); ++i) {
            pieces.push_back(all.substr(i, 1));
        }
    } else {
        pieces = {all.substr(0, cut), all.substr(cut)};
    }
    std::size_t consumed = 0;
    for (const auto piece : pieces) {
        const auto r = p.feed(piece);
        consumed += r.consumed;
        if (r.what != parser::status::need_more) {
            return {r.what, consumed, r.reason};
        }
        REQUIRE(r.consumed == piece.size());  // while more is needed, everything fed is the header's
    }
    return {parser::status::need_more, consumed, {}};
}

// Every way of cutting `header` followed by the client's octets gives a header of exactly its length.
proxy::header parses(const std::string& header) {
    const std::string wire = header + client_octets;
    proxy::header first;
    for (std::size_t cut = 0; cut <= wire.size() + 1; ++cut) {
        parser p;
        const auto o = feed_in_pieces(p, wire, cut == wire.size() + 1 ? std::string::npos : cut);
        INFO("cut at " << cut << " of " << wire.size() << ": " << o.reason);
        REQUIRE(o.what == parser::status::done);
        REQUIRE(o.consumed == header.size());
        if (cut == 0) {
            first = p.value();
        } else {
            CHECK(p.value().local == first.local);
            CHECK(p.value().source.address == first.source.address);
            CHECK(p.value().authority == first.authority);
        }
        CHECK(p.feed(std::string_view("x")).consumed == 0);  // done takes nothing more
    }
    return first;
}

// Every way of cutting `header` (and the client's octets) is malformed, for the same reason.
std::string_view refused(const std::string& header) {
    const std::string wire = header + client_octets;
    std::string_view reason;
    for (std::size_t cut = 0; cut <= wire.size() + 1; ++cut) {
        parser p;
        const auto o = feed_in_pieces(p, wire, cut == wire.size() + 1 ? std::string::npos : cut);
        INFO("cut at " << cut << " of " << wire.size());
        REQUIRE(o.what == parser::status::malformed);
        REQUIRE_FALSE(o.reason.empty());
        if (cut == 0) {
            reason = o.reason;
        } else {
            CHECK(o.reason == reason);
        }
    }
    return reason;
}

std::string text(const ip_address& a) { return to_string(a); }

}  // namespace

TEST_CASE("proxy header: CRC32C is Castagnoli's", "[proxy]") {
    const std::string check = "123456789";
    CHECK(proxy::crc32c({reinterpret_cast<const unsigned char*>(check.data()), check.size()}) == 0xe3069283u);
}

TEST_CASE("proxy header: v1 TCP4 and TCP6 lines give the client's and the server's endpoints", "[proxy]") {
    const auto h = parses("PROXY TCP4 192.0.2.1 198.51.100.2 56324 995\r\n");
    CHECK(h.version == 1);
    CHECK_FALSE(h.local);
    CHECK(text(h.source.address) == "192.0.2.1");
    CHECK(h.source.port == 56324);
    CHECK(text(h.destination.address) == "198.51.100.2");
    CHECK(h.destination.port == 995);

    const auto h6 = parses("PROXY TCP6 2001:DB8::1 2001:db8::2 0 65535\r\n");
    CHECK(text(h6.source.address) == "2001:db8::1");
    CHECK(h6.source.port == 0);
    CHECK(h6.destination.port == 65535);

    const auto mapped = parses("PROXY TCP6 ::ffff:192.0.2.9 ::1 1 25\r\n");
    CHECK(mapped.source.address.v4);
    CHECK(text(mapped.source.address) == "192.0.2.9");
}

TEST_CASE("proxy header: v1 UNKNOWN keeps the connection's own endpoints", "[proxy]") {
    CHECK(parses("PROXY UNKNOWN\r\n").local);
    // 2.1's worst case: 107 octets with the CRLF.
    const std::string longest =
        "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
    REQUIRE(longest.size() == proxy::max_v1_line);
    CHECK(parses(longest).local);
}

TEST_CASE("proxy header: malformed v1 lines are refused", "[proxy]") {
    refused("GET / HTTP/1.0\r\n");
    refused("EHLO client\r\n");
    refused("proxy TCP4 192.0.2.1 198.51.100.2 1 2\r\n");
    refused("PROXY  TCP4 192.0.2.1 198.51.100.2 1 2\r\n");
    refused("PROXY TCP5 192.0.2.1 198.51.100.2 1 2\r\n");
    refused("PROXY TCP4 192.0.2.01 198.51.100.2 1 2\r\n");   // a leading zero
    refused("PROXY TCP4 192.0.2.256 198.51.100.2 1 2\r\n");  // out of range
    refused("PROXY TCP4 192.0.2 198.51.100.2 1 2\r\n");      // three numbers
    refused("PROXY TCP4 192.0.2.1.5 198.51.100.2 1 2\r\n");  // five
    refused("PROXY TCP4 2001:db8::1 198.51.100.2 1 2\r\n");  // the family's format
    refused("PROXY TCP6 192.0.2.1 2001:db8::2 1 2\r\n");
    refused("PROXY TCP6 2001:db8::1::2 2001:db8::2 1 2\r\n");
    refused("PROXY TCP4 192.0.2.1  198.51.100.2 1 2\r\n");   // two spaces
    refused("PROXY TCP4 192.0.2.1 198.51.100.2 1 2 \r\n");   // a trailing space
    refused("PROXY TCP4 192.0.2.1 198.51.100.2 1 2 3\r\n");  // a fifth field
    refused("PROXY TCP4 192.0.2.1 198.51.100.2 1\r\n");
    refused("PROXY TCP4 192.0.2.1 198.51.100.2 01 2\r\n");  // a port's leading zero
    refused("PROXY TCP4 192.0.2.1 198.51.100.2 1 65536\r\n");
    refused("PROXY TCP4 192.0.2.1 198.51.100.2 1 -2\r\n");
    refused("PROXY TCP4 192.0.2.1 198.51.100.2 1 2\n");  // a bare LF
    refused("PROXY TCP4 192.0.2.1 198.51.100.2 1 2\r\r\n");
    refused("PROXY TCP4\r\n");
    refused("PROXY\r\n");
    refused("PROXY UNKNOWN " + std::string(120, 'x') + "\r\n");  // no CRLF within 107 octets
}

TEST_CASE("proxy header: v2 PROXY over TCP gives the addresses and ports", "[proxy]") {
    const auto h = parses(v2(0x21, 0x11, inet(src4, dst4, 40000, 110)));
    CHECK(h.version == 2);
    CHECK_FALSE(h.local);
    CHECK(text(h.source.address) == "192.0.2.1");
    CHECK(h.source.port == 40000);
    CHECK(text(h.destination.address) == "198.51.100.2");
    CHECK(h.destination.port == 110);
    CHECK_FALSE(h.ssl);

    const auto h6 = parses(v2(0x21, 0x21, inet(src6, dst6, 1, 995)));
    CHECK(text(h6.source.address) == "2001:db8::1");
    CHECK(h6.destination.port == 995);

    const std::string mapped("\0\0\0\0\0\0\0\0\0\0\xff\xff\xc0\x00\x02\x07", 16);
    CHECK(text(parses(v2(0x21, 0x21, inet(mapped, dst6, 1, 2))).source.address) == "192.0.2.7");
}

TEST_CASE("proxy header: v2 LOCAL, UNSPEC, UNIX and datagrams keep the connection's own endpoints", "[proxy]") {
    CHECK(parses(v2(0x20, 0x00, "")).local);
    CHECK(parses(v2(0x20, 0x11, inet(src4, dst4, 1, 2))).local);  // LOCAL ignores the addresses
    CHECK(parses(v2(0x20, 0x21, "")).local);                      // and may leave them out
    CHECK(parses(v2(0x21, 0x00, "")).local);
    CHECK(parses(v2(0x21, 0x31, std::string(216, '\0'))).local);
    CHECK(parses(v2(0x21, 0x12, inet(src4, dst4, 1, 2))).local);
    CHECK(parses(v2(0x21, 0x10, inet(src4, dst4, 1, 2))).local);
    CHECK(parses(v2(0x20, 0x00, tlv(0x05, "id-1"))).unique_id == "id-1");  // TLVs after no addresses
}

TEST_CASE("proxy header: v2 TLVs: authority, unique id, SSL facts, CRC32C, NOOP and unknown ones", "[proxy]") {
    const std::string ssl_tlv = tlv(0x20, std::string("\x07", 1) + be32(0) + tlv(0x21, "TLSv1.3") + tlv(0x22, "alice") +
                                              tlv(0x23, "TLS_AES_256_GCM_SHA384") + tlv(0x24, "RSA-SHA256") +
                                              tlv(0x25, "EC256") + tlv(0x26, "X25519") + tlv(0x28, "\x30\x82"));
    const std::string payload = inet(src4, dst4, 40000, 995) + tlv(0x04, "") + tlv(0x02, "mail.example") +
                                tlv(0x05, std::string(128, 'u')) + tlv(0xe0, "custom") + ssl_tlv + tlv(0x04, "pad");
    const auto h = parses(with_crc(0x21, 0x11, payload));
    CHECK(h.checksummed);
    CHECK(h.authority == "mail.example");
    CHECK(h.unique_id == std::string(128, 'u'));
    REQUIRE(h.ssl);
    CHECK(h.ssl->used_tls());
    CHECK(h.ssl->certificate_verified());
    CHECK(h.ssl->version == "TLSv1.3");
    CHECK(h.ssl->common_name == "alice");
    CHECK(h.ssl->cipher == "TLS_AES_256_GCM_SHA384");
    CHECK(h.ssl->sig_alg == "RSA-SHA256");
    CHECK(h.ssl->key_alg == "EC256");

    const auto c = proxy::proxied_channel(h);
    REQUIRE(c);
    CHECK(c->version == "TLSv1.3");
    CHECK(c->cipher == "TLS_AES_256_GCM_SHA384");
    CHECK(c->server_name == "mail.example");
    CHECK(c->peer.present);
    CHECK(c->peer.verified);
    CHECK(c->peer.common_name == "alice");
    CHECK(c->peer.subject == "/CN=alice");
    CHECK(c->peer.sha256_fingerprint.empty());
    CHECK(c->channel_binding.empty());  // the channel is the proxy's: nothing to bind to
}

TEST_CASE("proxy header: a client certificate counts as verified only when the proxy says so", "[proxy]") {
    auto channel_of = [](unsigned client, std::uint32_t verify) {
        const std::string ssl = std::string(1, static_cast<char>(client)) + be32(verify) + tlv(0x21, "TLSv1.2");
        return proxy::proxied_channel(parses(v2(0x21, 0x11, inet(src4, dst4, 1, 2) + tlv(0x20, ssl))));
    };
    CHECK_FALSE(channel_of(0x00, 0));       // an SSL TLV that says the client did not use TLS
    const auto none = channel_of(0x01, 0);  // TLS, no certificate: verify 0 alone proves nothing
    REQUIRE(none);
    CHECK_FALSE(none->peer.present);
    CHECK_FALSE(none->peer.verified);
    const auto unverified = channel_of(0x03, 1);
    REQUIRE(unverified);
    CHECK(unverified->peer.present);
    CHECK_FALSE(unverified->peer.verified);
    CHECK(channel_of(0x03, 0)->peer.verified);
    CHECK(channel_of(0x05, 0)->peer.verified);  // a certificate shown earlier in the TLS session
}

TEST_CASE("proxy header: malformed v2 headers are refused", "[proxy]") {
    const std::string addresses = inet(src4, dst4, 1, 2);
    refused(std::string("\r\n\r\n\0\r\nQUIX\n", 12) + "\x21\x11" + be16(12) + addresses);
    refused(std::string("\r\n\r\n", 4) + "garbage");
    refused(v2(0x11, 0x11, addresses));               // version 1 in a v2 signature
    refused(v2(0x31, 0x11, addresses));               // version 3
    refused(v2(0x22, 0x11, addresses));               // command 2
    refused(v2(0x21, 0x41, addresses));               // family 4
    refused(v2(0x21, 0x13, addresses));               // transport 3
    refused(v2(0x21, 0x11, std::string(8, '\0')));    // shorter than the addresses
    refused(v2(0x21, 0x21, addresses));               // an IPv6 block needs 36 octets
    refused(v2(0x21, 0x31, std::string(100, '\0')));  // a UNIX block 216
    refused(signature + "\x21\x11" + be16(proxy::max_v2_payload + 1));
    refused(v2(0x21, 0x11, addresses + "\x02\x00"));                     // a TLV cut short
    refused(v2(0x21, 0x11, addresses + tlv(0x02, "abc").substr(0, 5)));  // a value past the end
    refused(v2(0x21, 0x11, addresses + tlv(0x02, std::string(256, 'a'))));
    refused(v2(0x21, 0x11, addresses + tlv(0x02, "a") + tlv(0x02, "b")));  // twice
    refused(v2(0x21, 0x11, addresses + tlv(0x05, std::string(129, 'u'))));
    refused(v2(0x21, 0x11, addresses + tlv(0x20, std::string("\x01\0\0\0", 4))));  // SSL without its verify field
    refused(v2(0x21, 0x11, addresses + tlv(0x20, std::string("\x01\0\0\0\0", 5) + std::string("\x21\x00\x09TLS", 6))));
    refused(v2(0x21, 0x11, addresses + tlv(0x20, std::string("\x03\0\0\0\0", 5) + tlv(0x22, "a") + tlv(0x22, "b"))));
    refused(v2(0x21, 0x11, addresses + tlv(0x03, "abc")));  // CRC32C of 3 octets
    std::string wrong = with_crc(0x21, 0x11, addresses + tlv(0x02, "mail.example"));
    wrong[wrong.size() - 1] ^= 1;
    refused(wrong);
    std::string tampered = with_crc(0x21, 0x11, addresses + tlv(0x02, "mail.example"));
    tampered[17] ^= 1;  // an address octet changed after the checksum was made
    refused(tampered);
}

TEST_CASE("proxy header: a truncated header needs more and never claims the client's octets", "[proxy]") {
    for (const std::string& whole :
         {std::string("PROXY TCP4 192.0.2.1 198.51.100.2 1 2\r\n"), v2(0x21, 0x11, inet(src4, dst4, 1, 2))}) {
        for (std::size_t n = 0; n < whole.size(); ++n) {
            parser p;
            const auto r = p.feed(std::string_view(whole).substr(0, n));
            CHECK(r.what == parser::status::need_more);
            CHECK(r.consumed == n);
        }
    }
}
