// mailwright::sasl::base64_decode, the strict RFC 4648 decoder every SASL response goes through, and
// base64_encode:
//  - whatever decodes re-encodes to exactly the same text, so no two client texts decode to the same bytes
//    (no whitespace, no line breaks, no non-zero bits after the last octet, padding only at the end);
//  - the decoded size is what the text's length and padding say;
//  - the input taken as bytes encodes to canonical text (alphabet, padding, no line breaks) that decodes
//    back to it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "mailwright/sasl/crypto.hpp"

namespace {

bool in_alphabet(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

void check_canonical(std::string_view text) {
    FUZZ_CHECK(text.size() % 4 == 0, "encoded text is not made of 4-character groups");
    std::size_t padding = 0;
    while (padding < text.size() && text[text.size() - 1 - padding] == '=') {
        ++padding;
    }
    FUZZ_CHECK(padding <= 2, "more than two padding characters");
    for (std::size_t i = 0; i + padding < text.size(); ++i) {
        FUZZ_CHECK(in_alphabet(text[i]), "a character outside the base64 alphabet");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string input(reinterpret_cast<const char*>(data), size);

    if (const auto decoded = mailwright::sasl::base64_decode(input)) {
        FUZZ_CHECK(mailwright::sasl::base64_encode(*decoded) == input,
                   "a text that decodes does not re-encode to itself: two texts share one decoding");
        check_canonical(input);
        std::size_t padding = 0;
        while (padding < input.size() && input[input.size() - 1 - padding] == '=') {
            ++padding;
        }
        FUZZ_CHECK(decoded->size() == input.size() / 4 * 3 - padding, "the decoded size does not match the text");
    }

    const std::string encoded = mailwright::sasl::base64_encode(input);
    FUZZ_CHECK(encoded.size() == (input.size() + 2) / 3 * 4, "the encoded size is not 4 * ceil(n / 3)");
    check_canonical(encoded);
    const auto back = mailwright::sasl::base64_decode(encoded);
    FUZZ_CHECK(back.has_value(), "the decoder rejects what the encoder wrote");
    FUZZ_CHECK(*back == input, "encoding and decoding does not give the bytes back");
    return 0;
}
