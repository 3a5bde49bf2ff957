// SipHash-2-4 (Aumasson and Bernstein, 2012), fed incrementally: the bucket index of a rate-limit key. A keyed
// hash with a secret drawn at start, so that a client cannot choose addresses or senders whose buckets collide
// with someone else's and lock that someone out (hash flooding). Fed without allocating: the hot path hashes
// a rule tag and a view of the key in place.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace mailwright::ratelimit {

using hash_key = std::array<std::uint64_t, 2>;

class keyed_hash {
  public:
    explicit keyed_hash(const hash_key& key) noexcept;

    void byte(unsigned char b) noexcept;
    void bytes(std::string_view data) noexcept;
    void bytes_lowercase(std::string_view data) noexcept;  // ASCII letters folded, as they are fed
    std::uint64_t finish() noexcept;

  private:
    void compress(std::uint64_t m) noexcept;
    void rounds(int n) noexcept;

    std::uint64_t v0_, v1_, v2_, v3_;
    std::uint64_t pending_ = 0;  // up to 7 bytes not yet compressed, little-endian
    std::uint64_t length_ = 0;
};

}  // namespace mailwright::ratelimit
