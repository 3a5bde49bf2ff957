// SipHash-2-4: the reference algorithm (https://github.com/veorq/SipHash), one byte at a time so that the
// caller can feed tags, views and case-folded text without building a buffer.
#include "keyed_hash.hpp"

#include <bit>

#include "mailwright/io/ascii.hpp"

namespace mailwright::ratelimit {

keyed_hash::keyed_hash(const hash_key& key) noexcept
    : v0_(key[0] ^ 0x736f6d6570736575ULL),
      v1_(key[1] ^ 0x646f72616e646f6dULL),
      v2_(key[0] ^ 0x6c7967656e657261ULL),
      v3_(key[1] ^ 0x7465646279746573ULL) {}

void keyed_hash::rounds(int n) noexcept {
    for (int i = 0; i < n; ++i) {
        v0_ += v1_;
        v1_ = std::rotl(v1_, 13);
        v1_ ^= v0_;
        v0_ = std::rotl(v0_, 32);
        v2_ += v3_;
        v3_ = std::rotl(v3_, 16);
        v3_ ^= v2_;
        v0_ += v3_;
        v3_ = std::rotl(v3_, 21);
        v3_ ^= v0_;
        v2_ += v1_;
        v1_ = std::rotl(v1_, 17);
        v1_ ^= v2_;
        v2_ = std::rotl(v2_, 32);
    }
}

void keyed_hash::compress(std::uint64_t m) noexcept {
    v3_ ^= m;
    rounds(2);
    v0_ ^= m;
}

void keyed_hash::byte(unsigned char b) noexcept {
    pending_ |= std::uint64_t{b} << (8 * (length_ % 8));
    ++length_;
    if (length_ % 8 == 0) {
        compress(pending_);
        pending_ = 0;
    }
}

void keyed_hash::bytes(std::string_view data) noexcept {
    for (const char c : data) {
        byte(static_cast<unsigned char>(c));
    }
}

void keyed_hash::bytes_lowercase(std::string_view data) noexcept {
    for (const char c : data) {
        byte(static_cast<unsigned char>(io::ascii_lower(c)));
    }
}

std::uint64_t keyed_hash::finish() noexcept {
    compress(pending_ | (length_ << 56));
    v2_ ^= 0xff;
    rounds(4);
    return v0_ ^ v1_ ^ v2_ ^ v3_;
}

}  // namespace mailwright::ratelimit
