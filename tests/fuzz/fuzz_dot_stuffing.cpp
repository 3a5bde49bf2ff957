// mailwright::io::dot_stuffer (RFC 1939 3, RFC 5321 4.5.2) on messages cut into arbitrary chunks, several
// messages through one stuffer as a POP3 session sends them. For each message:
//  - the output ends with CRLF "." CRLF, and no line before that final one is "." (the client would stop
//    reading there: the rest of the message would be taken for commands' replies);
//  - unstuffing it (drop the final ".\r\n", remove one leading dot from each line) gives back the message,
//    with CRLF appended when the message did not end with LF;
//  - the chunking does not matter: the whole message in one append() gives the same octets.
//
// Input (FuzzedDataProvider): chunk sizes and message ends come from the end of the input, the octets of the
// messages from the front.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "mailwright/io/dot_stuffing.hpp"

namespace {

// The client's side (RFC 1939 3): every line that starts with "." loses that dot; the line "." ends the reply.
std::string unstuff(std::string_view stuffed) {
    std::string out;
    std::size_t at = 0;
    while (at < stuffed.size()) {
        const auto lf = stuffed.find('\n', at);
        const std::size_t end = lf == std::string_view::npos ? stuffed.size() : lf + 1;
        std::string_view line = stuffed.substr(at, end - at);
        if (!line.empty() && line.front() == '.') {
            line.remove_prefix(1);
        }
        out.append(line);
        at = end;
    }
    return out;
}

void check_message(std::string_view message, std::string_view output) {
    FUZZ_CHECK(output.size() >= 3 && output.substr(output.size() - 3) == ".\r\n", "the reply does not end with .CRLF");
    const std::string_view body = output.substr(0, output.size() - 3);
    FUZZ_CHECK(body.empty() || body.back() == '\n', "the final dot does not start a line");

    std::string expected(message);
    if (!message.empty() && message.back() != '\n') {
        expected += "\r\n";
    }
    FUZZ_CHECK(unstuff(body) == expected, "unstuffing does not give back the message");

    // No line of the body is ".", with or without its CR: a client would take it for the end.
    std::size_t at = 0;
    while (at < body.size()) {
        const auto lf = body.find('\n', at);
        const std::size_t end = lf == std::string_view::npos ? body.size() : lf;
        std::string_view line = body.substr(at, end - at);
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        FUZZ_CHECK(line != ".", "a line of the message reads as the terminator");
        FUZZ_CHECK(line.empty() || line.front() != '.' || (line.size() >= 2 && line[1] == '.'),
                   "a line that starts with a dot was not stuffed");
        at = end + 1;
    }

    // The same message in one piece, through a fresh stuffer.
    mailwright::io::dot_stuffer whole;
    std::string once;
    whole.append(message, once);
    whole.finish(once);
    FUZZ_CHECK(once == output, "the output depends on how the message was chunked");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider in(data, size);
    mailwright::io::dot_stuffer stuffer;  // one per session: it must be ready for the next message after finish()
    std::string message;
    std::string output;
    for (;;) {
        const std::uint8_t op = in.ConsumeIntegral<std::uint8_t>();
        const bool end_of_input = in.remaining_bytes() == 0;
        if (op == 0xff || end_of_input) {
            stuffer.finish(output);
            check_message(message, output);
            message.clear();
            output.clear();
            if (end_of_input) {
                break;
            }
            continue;
        }
        // Empty chunks too: a store may return them.
        const std::string chunk = in.ConsumeBytesAsString(op % 48);
        const std::size_t before = output.size();
        stuffer.append(chunk, output);
        FUZZ_CHECK(output.size() >= before + chunk.size() && output.size() <= before + 2 * chunk.size(),
                   "a chunk grew by less than nothing or by more than a dot per octet");
        message += chunk;
    }
    return 0;
}
