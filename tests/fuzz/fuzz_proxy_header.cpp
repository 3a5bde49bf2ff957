// mailwright::net::proxy::parser, the PROXY protocol v1/v2 header a listener reads from a trusted proxy:
//  - however the octets are cut, the outcome is the same: the same status, the same count of octets that are
//    the header's (never one of the client's octets after it), the same reason, the same header;
//  - a header is never longer than its version allows (107 octets for v1, 16 + 4096 for v2), and while more
//    is needed every octet fed is the header's;
//  - the header alone, fed again, is the same header (nothing after it decided anything);
//  - once done or malformed, the parser takes nothing more;
//  - a client certificate counts as verified only when it is present, and only in TLS.
// Input: the first octet chooses the piece sizes (1 + (octet + i) % 13 for the i-th piece), the rest is the wire.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "mailwright/net/proxy_header.hpp"

namespace {

using mailwright::net::proxy::header;
using mailwright::net::proxy::parser;

struct outcome {
    parser::status what = parser::status::need_more;
    std::size_t consumed = 0;
    std::string_view reason;
};

outcome feed(parser& p, std::string_view wire, unsigned seed) {
    outcome o;
    std::size_t i = 0;
    for (std::size_t pos = 0; pos < wire.size(); ++i) {
        const std::size_t n = seed == 0 ? wire.size() : 1 + (seed + i) % 13;
        const auto piece = wire.substr(pos, n);
        pos += piece.size();
        const auto r = p.feed(piece);
        o.consumed += r.consumed;
        o.what = r.what;
        o.reason = r.reason;
        if (r.what != parser::status::need_more) {
            FUZZ_CHECK(r.consumed <= piece.size(), "claimed more octets than were fed");
            FUZZ_CHECK(p.feed(piece).consumed == 0, "took octets after its verdict");
            break;
        }
        FUZZ_CHECK(r.consumed == piece.size(), "needs more but did not take all it was given");
    }
    return o;
}

bool same(const header& a, const header& b) {
    const bool ssl_same = a.ssl.has_value() == b.ssl.has_value() &&
                          (!a.ssl || (a.ssl->client == b.ssl->client && a.ssl->verify == b.ssl->verify &&
                                      a.ssl->version == b.ssl->version && a.ssl->common_name == b.ssl->common_name &&
                                      a.ssl->cipher == b.ssl->cipher && a.ssl->sig_alg == b.ssl->sig_alg &&
                                      a.ssl->key_alg == b.ssl->key_alg));
    return ssl_same && a.version == b.version && a.local == b.local && a.source.address == b.source.address &&
           a.source.port == b.source.port && a.destination.address == b.destination.address &&
           a.destination.port == b.destination.port && a.authority == b.authority && a.unique_id == b.unique_id &&
           a.checksummed == b.checksummed;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const unsigned seed = data[0];
    const std::string_view wire(reinterpret_cast<const char*>(data) + 1, size - 1);

    parser whole;
    const auto w = feed(whole, wire, 0);
    parser pieces;
    const auto p = feed(pieces, wire, seed | 1);
    FUZZ_CHECK(w.what == p.what, "the verdict depends on how the octets were cut");
    FUZZ_CHECK(w.reason == p.reason, "the reason depends on how the octets were cut");

    if (w.what == parser::status::need_more) {
        FUZZ_CHECK(w.consumed == wire.size() && p.consumed == wire.size(), "needs more but left octets");
        return 0;
    }
    if (w.what == parser::status::malformed) {
        FUZZ_CHECK(!w.reason.empty(), "malformed without a reason");
        return 0;
    }
    FUZZ_CHECK(w.consumed == p.consumed, "the header's length depends on how the octets were cut");
    const header& h = whole.value();
    FUZZ_CHECK(same(h, pieces.value()), "the header depends on how the octets were cut");
    FUZZ_CHECK(h.version == 1 || h.version == 2, "no version");
    FUZZ_CHECK(h.version == 1 ? w.consumed <= mailwright::net::proxy::max_v1_line
                              : w.consumed <= 16 + mailwright::net::proxy::max_v2_payload,
               "a header longer than its version allows");
    FUZZ_CHECK(h.version != 1 || wire.substr(w.consumed - 2, 2) == "\r\n", "a v1 line not ended by CRLF");
    FUZZ_CHECK(h.authority.size() <= 255 && h.unique_id.size() <= 128, "a TLV over its bound");

    parser again;
    const auto a = feed(again, wire.substr(0, w.consumed), 0);
    FUZZ_CHECK(a.what == parser::status::done && a.consumed == w.consumed && same(h, again.value()),
               "the header alone reads differently");

    if (const auto c = mailwright::net::proxy::proxied_channel(h)) {
        FUZZ_CHECK(h.ssl && h.ssl->used_tls(), "TLS facts for a client without TLS");
        FUZZ_CHECK(!c->peer.verified || c->peer.present, "a verified certificate that is not there");
        FUZZ_CHECK(!c->peer.verified || h.ssl->verify == 0, "verified although the proxy said no");
        FUZZ_CHECK(c->channel_binding.empty(), "channel binding for the proxy's channel");
    }
    return 0;
}
