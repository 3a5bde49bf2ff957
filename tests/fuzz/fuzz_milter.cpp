// The milter response decoder (plugins/milter/protocol.hpp) on any octets a milter could send, cut at any
// points:
//  - what it decodes, and whether and why it fails, does not depend on how the octets were cut;
//  - it never buffers more than the length bound, and after an error it takes nothing more;
//  - each response it gives is what its code allows: a header action has a field name of printable ASCII
//    without the colon, a reply code is 4xx or 5xx with an enhanced code of its class, a macro list belongs to
//    a known stage;
//  - every response re-encoded as a milter would send it decodes to itself (nothing is lost or invented).
//
// Input (FuzzedDataProvider): the cut points come from the end of the input, the octets from the front.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "protocol.hpp"

namespace {

using namespace mailwright;

struct outcome {
    std::vector<milter::response> responses;
    bool ok = true;
    std::string error;
};

outcome decode(const std::string& octets, const std::vector<std::size_t>& cuts, std::size_t limit) {
    milter::decoder d(limit);
    outcome out;
    std::size_t at = 0;
    for (const std::size_t cut : cuts) {
        out.ok = d.feed(std::string_view(octets).substr(at, cut - at), out.responses) && out.ok;
        FUZZ_CHECK(out.ok || d.failed(), "a refused feed leaves the decoder failed");
        at = cut;
    }
    out.ok = d.feed(std::string_view(octets).substr(at), out.responses) && out.ok;
    out.error = d.error();
    FUZZ_CHECK(out.ok == !d.failed(), "feed() answers whether the decoder failed");
    return out;
}

bool same(const milter::response& a, const milter::response& b) {
    return a.code == b.code && a.index == b.index && a.name == b.name && a.value == b.value && a.data == b.data &&
           a.reply.code == b.reply.code && a.reply.enhanced == b.reply.enhanced && a.reply.text == b.reply.text &&
           a.options.version == b.options.version && a.options.actions == b.options.actions &&
           a.options.flags == b.options.flags && a.options.macros == b.options.macros;
}

std::string be32(std::uint32_t v) {
    return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

// The macro lists, the one for stage `first` first (a SETSYMLIST response names its stage by its first list).
std::string symlists(const milter::negotiation& n, std::size_t first = 0) {
    std::string out;
    for (std::size_t i = 0; i < n.macros.size(); ++i) {
        const std::size_t s = (first + i) % n.macros.size();
        if (n.macros[s]) {
            std::string names;
            for (const auto& m : *n.macros[s]) {
                names += (names.empty() ? "" : " ") + m;
            }
            out += be32(static_cast<std::uint32_t>(s)) + names + '\0';
        }
    }
    return out;
}

// The response as a milter would send it (the reply code's text in its one-line form).
std::string encode(const milter::response& r) {
    namespace rc = milter::response_code;
    std::string data;
    switch (r.code) {
        case rc::reply_code:
            data = std::to_string(r.reply.code) + (r.reply.enhanced.empty() ? "" : " " + r.reply.enhanced) +
                   (r.reply.text.empty() ? "" : " " + r.reply.text) + '\0';
            break;
        case rc::insert_header:
        case rc::change_header:
            data = be32(r.index) + r.name + '\0' + r.value + '\0';
            break;
        case rc::add_header:
            data = r.name + '\0' + r.value + '\0';
            break;
        case rc::quarantine:
            data = r.value + '\0';
            break;
        case rc::add_rcpt:
        case rc::delete_rcpt:
            data = r.name + '\0';
            break;
        case rc::add_rcpt_par:
        case rc::change_from:
            data = r.name + '\0' + r.value + '\0';
            break;
        case rc::replace_body:
            data = r.data;
            break;
        case rc::optneg:
            data = be32(r.options.version) + be32(r.options.actions) + be32(r.options.flags) + symlists(r.options);
            break;
        case rc::set_symlist:
            data = symlists(r.options, r.index);
            break;
        default:
            break;
    }
    return be32(static_cast<std::uint32_t>(data.size() + 1)) + r.code + data;
}

void check_response(const milter::response& r) {
    namespace rc = milter::response_code;
    if (r.code == rc::add_header || r.code == rc::insert_header || r.code == rc::change_header) {
        FUZZ_CHECK(!r.name.empty(), "a header action names a field");
        for (const char c : r.name) {
            FUZZ_CHECK(c > 32 && c < 127 && c != ':', "a field name is printable ASCII without the colon");
        }
    }
    if (r.code == rc::reply_code) {
        FUZZ_CHECK(r.reply.code >= 400 && r.reply.code < 600, "a milter's reply refuses");
        FUZZ_CHECK(r.reply.enhanced.empty() || r.reply.enhanced[0] == static_cast<char>('0' + r.reply.code / 100),
                   "the enhanced code is of the reply's class");
    }
    const std::string again = encode(r);
    if (r.code == rc::reply_code && r.reply.text.find_first_of("\r\n") != std::string::npos) {
        return;  // joined lines may hold a line end of their own; the one-line form would read differently
    }
    const auto back = decode(again, {}, milter::max_response);
    FUZZ_CHECK(back.ok && back.responses.size() == 1 && same(back.responses[0], r),
               "a response re-encoded decodes to itself");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    mailwright::fuzz::quiet_logging();
    FuzzedDataProvider provider(data, size);
    // A small bound now and then, so that the bound is reached with short inputs too.
    const bool small = provider.ConsumeBool();
    const std::size_t limit = small ? 64 : milter::max_response;
    const std::size_t pieces = provider.ConsumeIntegralInRange<std::size_t>(0, 16);
    std::vector<std::size_t> offsets;
    for (std::size_t i = 0; i < pieces; ++i) {
        offsets.push_back(provider.ConsumeIntegral<std::uint16_t>());
    }
    const std::string octets = provider.ConsumeRemainingBytesAsString();
    std::vector<std::size_t> cuts;
    for (const std::size_t o : offsets) {
        cuts.push_back(o % (octets.size() + 1));
    }
    std::sort(cuts.begin(), cuts.end());

    const auto whole = decode(octets, {}, limit);
    const auto cut = decode(octets, cuts, limit);
    FUZZ_CHECK(whole.ok == cut.ok && whole.error == cut.error, "the outcome does not depend on the pieces");
    FUZZ_CHECK(whole.responses.size() == cut.responses.size(), "as many responses either way");
    for (std::size_t i = 0; i < whole.responses.size(); ++i) {
        FUZZ_CHECK(same(whole.responses[i], cut.responses[i]), "the same responses either way");
        FUZZ_CHECK(whole.responses[i].data.size() < limit, "nothing longer than the bound");
        check_response(whole.responses[i]);
    }
    return 0;
}
