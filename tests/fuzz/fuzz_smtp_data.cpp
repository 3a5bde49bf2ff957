// mailwright::smtp::data_reader, the end of an SMTP message and its unstuffing (RFC 5321 4.1.1.4, 4.5.2),
// fed the message data in fuzzer-chosen pieces, against a model of data_reader.hpp's rules written on the
// whole input at once:
//  - the data ends exactly after the first CRLF "." CRLF (the data's start counting as a CRLF), and nowhere
//    else: none of the smuggling endings (<LF>.<LF>, <CR>.<CR>, <LF>.<CR><LF>, ...; CVE-2023-51764/5/6)
//    ends it, and what follows it is left for the next command (`consumed`);
//  - the message octets are the data up to there with every line end written CRLF (a bare CR or LF ends a
//    line too, as a normalised CRLF) and one leading dot removed from each line that has more after it;
//  - the first problem reported is whichever comes first of: a NUL (RFC 6152: never in text, whatever the
//    policy), the octet that makes a line longer than max_line (its octets plus CRLF; a stuffing dot is not
//    part of the line, RFC 5321 4.5.3.1.6), and, under the reject policy, a bare CR or LF (noticed where its
//    line ends).
//
// Input (FuzzedDataProvider): the policy, max_line and each piece's size come from the end of the input, the
// data from the front.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "mailwright/smtp/data_reader.hpp"

namespace {

using mailwright::smtp::bare_line_ends;
using mailwright::smtp::data_reader;

struct expectation {
    bool finished = false;
    std::size_t consumed = 0;
    std::string message;
    data_reader::problem first = data_reader::problem::none;
};

// The model: split the data into lines by CRLF, bare CR and bare LF, as a receiver that sees all of it would.
expectation model(std::string_view data, std::size_t max_line, bare_line_ends bare) {
    expectation e;
    const std::string framed = "\r\n" + std::string(data);
    const auto end = framed.find("\r\n.\r\n");
    std::string_view content = data;
    if (end != std::string::npos) {
        e.finished = true;
        e.consumed = end + 3;           // through the final ".\r\n", in the data's own offsets
        content = data.substr(0, end);  // everything before the "." line, its preceding CRLF included
    } else {
        e.consumed = data.size();
    }
    auto note = [&](data_reader::problem p) {
        if (e.first == data_reader::problem::none) {
            e.first = p;
        }
    };
    std::size_t at = 0;
    while (at < content.size()) {
        // One line: up to CRLF, a bare CR, a bare LF, or the end of what was sent so far.
        std::size_t stop = at;
        while (stop < content.size() && content[stop] != '\r' && content[stop] != '\n') {
            ++stop;
        }
        const std::string_view line = content.substr(at, stop - at);
        const std::string_view text = line.size() > 1 && line.front() == '.' ? line.substr(1) : line;  // unstuffed
        const std::size_t nul = text.find('\0');
        const std::size_t limit = max_line - 2;  // the offset of the octet that makes the line too long
        if (nul != std::string_view::npos && nul <= limit) {
            note(data_reader::problem::nul);
        } else if (text.size() + 2 > max_line) {
            note(data_reader::problem::line_too_long);
        }
        if (stop == content.size()) {
            // An unfinished line: a leading dot waits for the next octet, the rest is out already.
            if (line.size() > 1 && line.front() == '.') {
                e.message.append(line.substr(1));
            } else if (line.front() != '.') {
                e.message.append(line);
            }
            break;
        }
        std::size_t next = stop + 1;
        bool real = false;
        if (content[stop] == '\r') {
            if (stop + 1 == content.size() && !e.finished) {
                // A CR at the very end: whether it is CRLF is not known yet; the line is not ended.
                if (line.size() > 1 && line.front() == '.') {
                    e.message.append(line.substr(1));
                } else if (line.empty() || line.front() != '.') {
                    e.message.append(line);
                }
                break;
            }
            if (stop + 1 < content.size() && content[stop + 1] == '\n') {
                real = true;
                next = stop + 2;
            }
        }
        if (!real && bare == bare_line_ends::reject) {
            note(data_reader::problem::bare_line_end);
        }
        // RFC 5321 4.5.2: a leading dot with more after it is dropped; a lone "." that did not end the data
        // is content.
        e.message.append(line.size() > 1 && line.front() == '.' ? line.substr(1) : line);
        e.message.append("\r\n");
        at = next;
    }
    return e;
}

const char* name(data_reader::problem p) {
    switch (p) {
        case data_reader::problem::none:
            return "none";
        case data_reader::problem::bare_line_end:
            return "bare_line_end";
        case data_reader::problem::line_too_long:
            return "line_too_long";
        case data_reader::problem::nul:
            return "nul";
    }
    return "?";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider in(data, size);
    const bool normalise = in.ConsumeBool();
    // Small limits reach the edges; 1000 is RFC 5321's. Three octets is the least the "." line needs.
    const std::size_t max_line = in.ConsumeBool() ? 1000 : in.ConsumeIntegralInRange<std::size_t>(3, 40);
    const bare_line_ends bare = normalise ? bare_line_ends::normalise : bare_line_ends::reject;

    data_reader reader({.max_line = max_line, .bare = bare});
    std::string sent;
    std::string message;
    std::size_t consumed = 0;
    bool finished = false;
    while (in.remaining_bytes() > 0 && !finished) {
        const std::size_t piece = in.ConsumeIntegralInRange<std::size_t>(0, 64);
        const std::string chunk = in.ConsumeBytesAsString(piece);
        const auto r = reader.feed(chunk, message);
        FUZZ_CHECK(r.consumed <= chunk.size(), "consumed more than was fed");
        FUZZ_CHECK(r.finished || r.consumed == chunk.size(), "stopped before the end of a piece without finishing");
        sent += chunk.substr(0, r.consumed);
        consumed += r.consumed;
        finished = r.finished;
    }

    const auto want = model(sent, max_line, bare);
    FUZZ_CHECK(finished == want.finished,
               finished ? "the data ended where no CRLF.CRLF is" : "CRLF.CRLF did not end the data");
    FUZZ_CHECK(consumed == want.consumed, "the end of the data is not right after CRLF.CRLF");
    FUZZ_CHECK(message == want.message, "the message octets differ from the model (line ends or unstuffing)");
    if (reader.first_problem() != want.first) {
        mailwright::fuzz::violated(
            "reader.first_problem() == want.first",
            std::string("first problem ") + name(reader.first_problem()) + ", the model says " + name(want.first),
            __FILE__, __LINE__);
    }
    // Whatever the input, the message is made of CRLF lines (and, unfinished, a partial last one).
    for (std::size_t i = 0; i < message.size(); ++i) {
        if (message[i] == '\n') {
            FUZZ_CHECK(i > 0 && message[i - 1] == '\r', "a bare LF inside the message");
        } else if (message[i] == '\r') {
            FUZZ_CHECK(i + 1 < message.size() && message[i + 1] == '\n', "a bare CR inside the message");
        }
    }
    if (finished) {
        FUZZ_CHECK(message.empty() || message.ends_with("\r\n"), "a finished message does not end with CRLF");
    }
    return 0;
}
