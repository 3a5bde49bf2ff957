// The PROXY protocol header parser: see the header. Section numbers are those of HAProxy's
// doc/proxy-protocol.txt.
#include "mailwright/net/proxy_header.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace mailwright::net::proxy {

namespace {

constexpr std::string_view v1_signature = "PROXY ";
// 2.2: CR LF CR LF NUL CR LF "QUIT" LF, chosen to be refused by every common protocol.
constexpr std::array<char, 12> v2_signature{'\r', '\n', '\r', '\n', '\0', '\r', '\n', 'Q', 'U', 'I', 'T', '\n'};
constexpr std::size_t v2_fixed = 16;  // signature, version and command, family and transport, length

// 2.2: the address block's size by family (AF_UNSPEC, AF_INET, AF_INET6, AF_UNIX).
constexpr std::array<std::size_t, 4> address_block{0, 12, 36, 216};

// 2.2.2, 2.2.5: the sizes the TLVs we read may have. An AUTHORITY is a host name (RFC 1035: 255 octets).
constexpr std::size_t max_authority = 255;
constexpr std::size_t max_unique_id = 128;

enum tlv_type : unsigned char {
    authority = 0x02,
    crc32c_type = 0x03,
    noop = 0x04,
    unique_id = 0x05,
    ssl = 0x20,
    ssl_version = 0x21,
    ssl_cn = 0x22,
    ssl_cipher = 0x23,
    ssl_sig_alg = 0x24,
    ssl_key_alg = 0x25,
};

using bytes = std::span<const unsigned char>;

std::uint32_t be32(const unsigned char* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}
std::uint16_t be16(const unsigned char* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }

std::string text_of(bytes value) { return std::string(reinterpret_cast<const char*>(value.data()), value.size()); }

// A decimal number of 1 to `digits` digits without a leading zero (2.1: no octal confusion), at most `max`.
std::optional<unsigned> decimal(std::string_view text, std::size_t digits, unsigned max) {
    if (text.empty() || text.size() > digits || (text.size() > 1 && text.front() == '0')) {
        return std::nullopt;
    }
    unsigned value = 0;
    for (const char c : text) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    return value <= max ? std::optional<unsigned>(value) : std::nullopt;
}

// 2.1: exactly four decimal numbers 0-255 separated by single dots.
std::optional<ip_address> ipv4_of(std::string_view text) {
    ip_address a;
    a.v4 = true;
    for (std::size_t i = 0; i < 4; ++i) {
        const auto dot = i < 3 ? text.find('.') : text.size();
        if (dot == std::string_view::npos) {
            return std::nullopt;
        }
        const auto n = decimal(text.substr(0, dot), 3, 255);
        if (!n) {
            return std::nullopt;
        }
        a.octets[i] = static_cast<unsigned char>(*n);
        text.remove_prefix(std::min(text.size(), dot + 1));
    }
    return text.empty() ? std::optional<ip_address>(a) : std::nullopt;
}

// An IPv6 address of 16 octets; an IPv4-mapped one counts as IPv4, as parse_ip() has it, so that limits and
// rules see one client one way.
ip_address ipv6_of(const unsigned char* p) {
    static constexpr unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    ip_address a;
    if (std::memcmp(p, mapped, sizeof mapped) == 0) {
        a.v4 = true;
        std::copy(p + 12, p + 16, a.octets.begin());
    } else {
        std::copy(p, p + 16, a.octets.begin());
    }
    return a;
}

// 2.1: hexadecimal groups and colons (inet_pton(3) decides the rest; it also takes a dotted IPv4 tail).
std::optional<ip_address> ipv6_of(std::string_view text) {
    if (text.empty() || text.size() > 45 || text.find_first_not_of("0123456789abcdefABCDEF:.") != text.npos) {
        return std::nullopt;
    }
    const std::string z(text);
    unsigned char raw[16];
    if (inet_pton(AF_INET6, z.c_str(), raw) != 1) {
        return std::nullopt;
    }
    return ipv6_of(raw);
}

// Splits "a b c d" into exactly four fields, each separated by exactly one space.
bool four_fields(std::string_view text, std::array<std::string_view, 4>& out) {
    for (std::size_t i = 0; i < 4; ++i) {
        const auto space = i < 3 ? text.find(' ') : text.size();
        if (space == std::string_view::npos || space == 0) {
            return false;
        }
        out[i] = text.substr(0, space);
        text.remove_prefix(std::min(text.size(), space + 1));
        if (i < 3 && text.empty()) {
            return false;
        }
    }
    return text.empty();
}

// 2.1: the line after "PROXY ", without its CRLF. An empty reason means it was read into `h`.
std::string_view parse_v1(std::string_view line, header& h) {
    h.version = 1;
    if (line == "UNKNOWN" || line.starts_with("UNKNOWN ")) {
        h.local = true;  // "the receiver must ignore anything presented before the CRLF"
        return {};
    }
    const bool v4 = line.starts_with("TCP4 ");
    if (!v4 && !line.starts_with("TCP6 ")) {
        return "v1: the protocol is not TCP4, TCP6 or UNKNOWN";
    }
    std::array<std::string_view, 4> f;
    if (!four_fields(line.substr(5), f)) {
        return "v1: not two addresses and two ports separated by single spaces";
    }
    const auto source = v4 ? ipv4_of(f[0]) : ipv6_of(f[0]);
    const auto destination = v4 ? ipv4_of(f[1]) : ipv6_of(f[1]);
    if (!source || !destination) {
        return v4 ? "v1: an address is not a canonical IPv4 address" : "v1: an address is not an IPv6 address";
    }
    const auto source_port = decimal(f[2], 5, 65535);
    const auto destination_port = decimal(f[3], 5, 65535);
    if (!source_port || !destination_port) {
        return "v1: a port is not a decimal number 0-65535 without leading zeros";
    }
    h.source = {*source, static_cast<std::uint16_t>(*source_port)};
    h.destination = {*destination, static_cast<std::uint16_t>(*destination_port)};
    return {};
}

// Walks the TLVs in `area`, calling `each(type, value)` for every one; a reason when one does not fit (2.2:
// type, two octets of length, the value) or `each` refuses one.
template <typename Each>
std::string_view walk_tlvs(bytes area, Each each) {
    std::size_t pos = 0;
    while (pos < area.size()) {
        if (area.size() - pos < 3) {
            return "v2: a TLV cut short (fewer than 3 octets left)";
        }
        const unsigned char type = area[pos];
        const std::size_t length = be16(area.data() + pos + 1);
        if (length > area.size() - pos - 3) {
            return "v2: a TLV's length goes past what contains it";
        }
        if (const auto why = each(type, area.subspan(pos + 3, length), pos + 3); !why.empty()) {
            return why;
        }
        pos += 3 + length;
    }
    return {};
}

// 2.2.6: client flags, verify, then sub-TLVs.
std::string_view parse_ssl(bytes value, ssl_facts& out) {
    if (value.size() < 5) {
        return "v2: the SSL TLV is shorter than its 5 fixed octets";
    }
    out.client = value[0];
    out.verify = be32(value.data() + 1);
    unsigned seen = 0;
    return walk_tlvs(value.subspan(5), [&](unsigned char type, bytes v, std::size_t) -> std::string_view {
        std::string* field = nullptr;
        switch (type) {
            case ssl_version:
                field = &out.version;
                break;
            case ssl_cn:
                field = &out.common_name;
                break;
            case ssl_cipher:
                field = &out.cipher;
                break;
            case ssl_sig_alg:
                field = &out.sig_alg;
                break;
            case ssl_key_alg:
                field = &out.key_alg;
                break;
            default:
                return {};  // PP2_SUBTYPE_SSL_GROUP, _SIG_SCHEME, _CLIENT_CERT and future ones: not used here
        }
        const unsigned bit = 1u << (type - ssl_version);
        if ((seen & bit) != 0) {
            return "v2: an SSL sub-TLV appears twice";
        }
        seen |= bit;
        *field = text_of(v);
        return {};
    });
}

// 2.2.1-2.2.6: the TLVs after the addresses; `offset`: where `area` starts in the header, for the CRC32C's place.
std::string_view parse_tlvs(bytes area, std::size_t offset, header& h, std::optional<std::size_t>& crc_at) {
    unsigned seen = 0;  // the TLV types read here may appear once: two answers to one question is no answer
    const auto why = walk_tlvs(area, [&](unsigned char type, bytes v, std::size_t at) -> std::string_view {
        const unsigned bit = type == authority     ? 1u
                             : type == crc32c_type ? 2u
                             : type == unique_id   ? 4u
                             : type == ssl         ? 8u
                                                   : 0u;
        if ((seen & bit) != 0) {
            return "v2: a TLV appears twice";
        }
        seen |= bit;
        switch (type) {
            case authority:
                if (v.size() > max_authority) {
                    return "v2: AUTHORITY longer than 255 octets";
                }
                h.authority = text_of(v);
                return {};
            case crc32c_type:
                if (v.size() != 4) {
                    return "v2: CRC32C is not 4 octets";
                }
                crc_at = offset + at;
                return {};
            case unique_id:
                if (v.size() > max_unique_id) {
                    return "v2: UNIQUE_ID longer than 128 octets";
                }
                h.unique_id = text_of(v);
                return {};
            case ssl:
                return parse_ssl(v, h.ssl.emplace());
            case noop:
            default:
                return {};  // NOOP is padding; other types are skipped (2.2)
        }
    });
    return why;
}

// 2.2: command, family, addresses and TLVs of a complete version 2 header in `all`.
std::string_view parse_v2(bytes all, header& h) {
    h.version = 2;
    const bool local = (all[12] & 0x0f) == 0;
    const unsigned family = all[13] >> 4;
    const unsigned transport = all[13] & 0x0f;
    const bytes payload = all.subspan(v2_fixed);
    const std::size_t block = address_block[family];
    if (payload.size() < block) {
        if (local) {
            h.local = true;  // LOCAL's addresses are ignored anyway (2.2); nothing is left for TLVs
            return {};
        }
        return "v2: the length is shorter than the family's addresses";
    }
    // LOCAL keeps the connection's own endpoints; so do AF_UNSPEC, AF_UNIX and datagrams, which a TCP server
    // cannot use ("fall back to the UNSPEC mode").
    h.local = local || transport != 1 || (family != 1 && family != 2);
    if (!h.local) {
        const unsigned char* p = payload.data();
        if (family == 1) {
            h.source.address.v4 = h.destination.address.v4 = true;
            std::copy(p, p + 4, h.source.address.octets.begin());
            std::copy(p + 4, p + 8, h.destination.address.octets.begin());
            p += 8;
        } else {
            h.source.address = ipv6_of(p);
            h.destination.address = ipv6_of(p + 16);
            p += 32;
        }
        h.source.port = be16(p);
        h.destination.port = be16(p + 2);
    }
    std::optional<std::size_t> crc_at;
    const auto why = parse_tlvs(payload.subspan(block), v2_fixed + block, h, crc_at);
    if (!why.empty()) {
        return why;
    }
    if (crc_at) {
        // 2.2.3: the checksum of the whole header with its own field as zeros.
        std::array<unsigned char, v2_fixed + max_v2_payload> copy;
        std::copy(all.begin(), all.end(), copy.begin());
        std::fill_n(copy.begin() + static_cast<std::ptrdiff_t>(*crc_at), 4, 0);
        if (crc32c(bytes(copy.data(), all.size())) != be32(all.data() + *crc_at)) {
            return "v2: the CRC32C does not match";
        }
        h.checksummed = true;
    }
    return {};
}

}  // namespace

parser::result parser::fail(std::string_view reason) {
    state_ = status::malformed;
    reason_ = reason;
    return {status::malformed, 0, reason};
}

parser::result parser::feed(std::span<const char> octets) {
    if (state_ != status::need_more) {
        return {state_, 0, reason_};
    }
    if (octets.empty()) {
        return {status::need_more, 0, {}};
    }
    // 2.2, "Identifying the protocol version": the first octet tells them apart, and anything else is neither.
    const char first = buffer_.empty() ? octets.front() : buffer_.front();
    if (first == v1_signature.front()) {
        return feed_v1(octets);
    }
    if (first == v2_signature.front()) {
        return feed_v2(octets);
    }
    return fail("neither a PROXY v1 line nor a v2 signature");
}

parser::result parser::feed_v1(std::span<const char> octets) {
    const std::size_t room = max_v1_line - buffer_.size();
    const std::size_t window = std::min(room, octets.size());
    const auto lf = std::find(octets.begin(), octets.begin() + static_cast<std::ptrdiff_t>(window), '\n');
    const bool ended = lf != octets.begin() + static_cast<std::ptrdiff_t>(window);
    const std::size_t taken = ended ? static_cast<std::size_t>(lf - octets.begin()) + 1 : window;
    buffer_.append(octets.data(), taken);
    const std::size_t known = std::min(buffer_.size(), v1_signature.size());
    if (buffer_.compare(0, known, v1_signature, 0, known) != 0) {
        return fail("v1: the line does not start with \"PROXY \"");
    }
    if (!ended) {
        if (buffer_.size() >= max_v1_line) {
            return fail("v1: no CRLF within 107 octets");
        }
        return {status::need_more, taken, {}};
    }
    if (buffer_.size() < v1_signature.size() + 2 || buffer_[buffer_.size() - 2] != '\r') {
        return fail("v1: the line does not end in CRLF");
    }
    const std::string_view line(buffer_.data() + v1_signature.size(), buffer_.size() - v1_signature.size() - 2);
    if (const auto why = parse_v1(line, header_); !why.empty()) {
        return fail(why);
    }
    state_ = status::done;
    return {status::done, taken, {}};
}

parser::result parser::feed_v2(std::span<const char> octets) {
    std::size_t used = 0;
    while (buffer_.size() < v2_fixed && used < octets.size()) {
        const std::size_t i = buffer_.size();
        const char c = octets[used++];
        buffer_.push_back(c);
        if (i < v2_signature.size() && c != v2_signature[i]) {
            return fail("v2: the signature does not match");
        }
        if (i == 12 && ((static_cast<unsigned char>(c) >> 4) != 2 || (c & 0x0f) > 1)) {
            return fail("v2: the version is not 2 or the command neither LOCAL nor PROXY");
        }
        if (i == 13 && ((static_cast<unsigned char>(c) >> 4) > 3 || (c & 0x0f) > 2)) {
            return fail("v2: an unknown address family or transport");
        }
    }
    if (buffer_.size() < v2_fixed) {
        return {status::need_more, used, {}};
    }
    if (v2_total_ == 0) {
        const std::size_t length = be16(reinterpret_cast<const unsigned char*>(buffer_.data()) + 14);
        if (length > max_v2_payload) {
            return fail("v2: the header is longer than 4096 octets after its fixed part");
        }
        v2_total_ = v2_fixed + length;
    }
    const std::size_t take = std::min(v2_total_ - buffer_.size(), octets.size() - used);
    buffer_.append(octets.data() + used, take);
    used += take;
    if (buffer_.size() < v2_total_) {
        return {status::need_more, used, {}};
    }
    const auto all = bytes(reinterpret_cast<const unsigned char*>(buffer_.data()), buffer_.size());
    if (const auto why = parse_v2(all, header_); !why.empty()) {
        return fail(why);
    }
    state_ = status::done;
    return {status::done, used, {}};
}

std::uint32_t crc32c(std::span<const unsigned char> data) noexcept {
    static constexpr auto table = [] {
        std::array<std::uint32_t, 256> t{};
        for (std::uint32_t i = 0; i < 256; ++i) {
            std::uint32_t c = i;
            for (int k = 0; k < 8; ++k) {
                c = (c & 1) != 0 ? (c >> 1) ^ 0x82f63b78u : c >> 1;  // the reflected Castagnoli polynomial
            }
            t[i] = c;
        }
        return t;
    }();
    std::uint32_t crc = 0xffffffffu;
    for (const unsigned char c : data) {
        crc = (crc >> 8) ^ table[(crc ^ c) & 0xff];
    }
    return crc ^ 0xffffffffu;
}

std::optional<tls::channel_info> proxied_channel(const header& h) {
    if (!h.ssl || !h.ssl->used_tls()) {
        return std::nullopt;
    }
    tls::channel_info c;
    c.version = h.ssl->version;
    c.cipher = h.ssl->cipher;
    c.server_name = h.authority;
    c.peer.present = h.ssl->certificate_presented();
    c.peer.verified = h.ssl->certificate_verified();
    c.peer.common_name = h.ssl->common_name;
    if (c.peer.present && !c.peer.common_name.empty()) {
        c.peer.subject = "/CN=" + c.peer.common_name;  // all the proxy tells of the subject
    }
    return c;
}

}  // namespace mailwright::net::proxy
