// mailwright::io::line_buffer fed a byte stream in pieces the fuzzer chooses, read the way a session reads
// (prepare, copy at most that much, commit, next), against a reference model of line_buffer.hpp's rules:
//  - a line, terminator included, is at most max_line octets: CRLF lines at most max_line-2 octets, bare-LF
//    lines (accept policy) at most max_line-1; a returned line never contains LF and never ends with the CR
//    of its terminator;
//  - a longer line is reported once as too_long when max_line octets are buffered without LF, and skipped
//    through its LF, never returned in part;
//  - a bare-LF line under the reject policy is consumed and reported as bare_lf;
//  - discard() drops exactly what was buffered and not returned; wipe() of a returned line changes no later line.
//
// Input (FuzzedDataProvider): the settings and each step's size and operation come from the end of the
// input, the stream's bytes from the front.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "mailwright/io/line_buffer.hpp"

namespace {

using mailwright::io::bare_lf_policy;
using mailwright::io::line_buffer;

// The rules as a model with an unbounded buffer. It sees the same octets as line_buffer, in the same commits,
// so it can say what each next() must return.
class model {
  public:
    model(std::size_t max_line, bare_lf_policy policy) : max_line_(max_line), policy_(policy) {}

    void append(std::string_view bytes) { pending_.append(bytes); }

    struct outcome {
        line_buffer::status kind;
        std::string line;
    };

    outcome next() {
        if (skipping_) {
            const auto lf = pending_.find('\n');
            if (lf == std::string::npos) {
                skipped_ += pending_.size();
                pending_.clear();
                return {line_buffer::status::need_more, {}};
            }
            skipped_ += lf + 1;
            pending_.erase(0, lf + 1);
            skipping_ = false;
        }
        const auto lf = pending_.find('\n');
        if (lf == std::string::npos) {
            if (pending_.size() >= max_line_) {
                skipped_ += pending_.size();
                pending_.clear();
                skipping_ = true;
                return {line_buffer::status::too_long, {}};
            }
            return {line_buffer::status::need_more, {}};
        }
        std::string line = pending_.substr(0, lf);
        pending_.erase(0, lf + 1);
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
            return {line_buffer::status::line, std::move(line)};
        }
        if (policy_ == bare_lf_policy::reject) {
            skipped_ += line.size() + 1;
            return {line_buffer::status::bare_lf, {}};
        }
        return {line_buffer::status::line, std::move(line)};
    }

    std::size_t discard() {
        const std::size_t n = pending_.size();
        skipped_ += n;
        pending_.clear();
        skipping_ = false;
        return n;
    }

    bool has_buffered() const { return !pending_.empty(); }
    std::size_t buffered() const { return pending_.size(); }
    std::size_t skipped() const { return skipped_; }

  private:
    std::size_t max_line_;
    bare_lf_policy policy_;
    std::string pending_;
    bool skipping_ = false;
    std::size_t skipped_ = 0;  // octets consumed without being returned in a line
};

const char* name(line_buffer::status s) {
    switch (s) {
        case line_buffer::status::line:
            return "line";
        case line_buffer::status::need_more:
            return "need_more";
        case line_buffer::status::too_long:
            return "too_long";
        case line_buffer::status::bare_lf:
            return "bare_lf";
    }
    return "?";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider in(data, size);
    const std::uint8_t flags = in.ConsumeIntegral<std::uint8_t>();
    const bool reject = (flags & 1) != 0;
    const bool wipe_lines = (flags & 2) != 0;
    // Mostly small limits, where the edges are; sometimes the POP3 and SMTP sizes. 0..2 test the minimum.
    const std::size_t asked = (flags & 4) != 0 ? in.ConsumeIntegralInRange<std::size_t>(0, 1100)
                                               : in.ConsumeIntegralInRange<std::size_t>(0, 40);
    const bare_lf_policy policy = reject ? bare_lf_policy::reject : bare_lf_policy::accept;

    line_buffer buffer({.max_line = asked, .bare_lf = policy});
    const std::size_t max_line = buffer.limits().max_line;
    FUZZ_CHECK(max_line == std::max<std::size_t>(asked, 3), "max_line is not the limit asked for (at least 3)");
    FUZZ_CHECK(buffer.limits().bare_lf == policy, "the policy changed");
    model reference(max_line, policy);

    std::size_t fed = 0;
    std::size_t returned = 0;  // octets of returned lines, terminators included
    std::string pending_chunk;
    std::size_t chunk_at = 0;
    while (true) {
        // One step: a read of a fuzzer-chosen size, or now and then a discard() as STLS does.
        const std::uint8_t op = in.ConsumeIntegral<std::uint8_t>();
        if (op == 0xff && in.remaining_bytes() > 0) {
            const std::size_t dropped = buffer.discard();
            FUZZ_CHECK(dropped == reference.discard(), "discard() dropped another amount than was buffered");
            FUZZ_CHECK(!buffer.has_buffered(), "something is buffered after discard()");
            continue;
        }
        if (chunk_at == pending_chunk.size()) {
            if (in.remaining_bytes() == 0) {
                break;
            }
            pending_chunk = in.ConsumeBytesAsString(static_cast<std::size_t>(op % 64) + 1);
            chunk_at = 0;
        }
        const auto space = buffer.prepare();
        FUZZ_CHECK(!space.empty(), "prepare() gave no room although next() wants more");
        const std::size_t n = std::min(space.size(), pending_chunk.size() - chunk_at);
        std::memcpy(space.data(), pending_chunk.data() + chunk_at, n);
        buffer.commit(n);
        reference.append(std::string_view(pending_chunk).substr(chunk_at, n));
        chunk_at += n;
        fed += n;

        for (;;) {
            const auto got = buffer.next();
            const auto want = reference.next();
            if (got.kind != want.kind) {
                mailwright::fuzz::violated(
                    "got.kind == want.kind",
                    std::string("next() returned ") + name(got.kind) + ", the model says " + name(want.kind), __FILE__,
                    __LINE__);
            }
            FUZZ_CHECK(buffer.has_buffered() == reference.has_buffered(), "has_buffered() disagrees with the model");
            if (got.kind == line_buffer::status::need_more) {
                break;
            }
            if (got.kind != line_buffer::status::line) {
                FUZZ_CHECK(got.line.empty(), "a line came with a status other than line");
                continue;
            }
            FUZZ_CHECK(got.line == want.line, "the line differs from the model");
            FUZZ_CHECK(got.line.find('\n') == std::string_view::npos, "a line contains LF");
            // The terminator the line had: CRLF, or LF alone (accept policy only).
            const bool crlf = got.line.data()[got.line.size()] == '\r';
            FUZZ_CHECK(crlf || !reject, "a bare-LF line was returned under the reject policy");
            FUZZ_CHECK(got.line.size() + (crlf ? 2 : 1) <= max_line, "a line longer than max_line was returned");
            returned += got.line.size() + (crlf ? 2 : 1);
            if (wipe_lines) {
                buffer.wipe(got.line);  // a password line, done with
                FUZZ_CHECK(std::all_of(got.line.begin(), got.line.end(), [](char c) { return c == '\0'; }),
                           "wipe() left octets of the line");
            }
        }
    }
    // A view that is not into the buffer is ignored.
    const std::string outside = "not in the buffer";
    buffer.wipe(outside);
    FUZZ_CHECK(outside == "not in the buffer", "wipe() touched memory outside the buffer");

    FUZZ_CHECK(returned + reference.skipped() <= fed, "lines plus skipped octets exceed the input");
    FUZZ_CHECK(returned + reference.skipped() + reference.buffered() == fed, "octets were lost or invented");
    return 0;
}
