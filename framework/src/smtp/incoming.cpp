// The message as the dialogue reads it (smtp/dialogue.hpp's `incoming`): the client's octets, into the message
// pipeline. DATA ends where data_reader says; BDAT where the chunk sizes say, with each chunk acknowledged and
// the commands between chunks answered here as the state table's `chunking` row allows: the store only ever
// receives octets. A message that breaks a limit (size, line length, bare CR/LF, NUL, minimum rate) is no
// longer handed on, and the dialogue gives the pipeline up, so the store keeps nothing; the rest is read and
// dropped.

#include <algorithm>
#include <cstring>

#include "dialogue.hpp"
#include "mailwright/smtp/parameters.hpp"
#include "replies.hpp"

namespace mailwright::smtp::detail {

incoming::incoming(dialogue& d, bool chunked, std::uint64_t first_chunk, bool last)
    : d_(d),
      chunked_(chunked),
      chunk_left_(first_chunk),
      last_(last),
      binary_(d.txn_.envelope.body == "BINARYMIME"),
      reader_({.max_line = d.settings().max_text_line, .bare = d.settings().bare, .dot_framed = !chunked}) {}

asio::awaitable<void> incoming::read(pipeline::message_pipeline* sink) {
    while (!finished_ && problem_ != refusal::lost && problem_ != refusal::interrupted) {
        const bool taken = sink != nullptr && problem_ == refusal::none && !sink->refused();
        co_await step(taken ? sink->buffer() : dropped_);
        dropped_.clear();
        if (taken && problem_ == refusal::none && sink->full()) {
            co_await sink->flush();
        }
    }
}

asio::awaitable<void> incoming::step(std::string& out) {
    auto& s = d_.session();
    if (chunked_ && chunk_left_ == 0) {
        if (last_) {
            finished_ = true;
            if (!binary_) {
                reader_.finish(out);  // a CR at the very end is a bare one
                note_reader_problem();
            }
        } else {
            co_await next_chunk();
        }
        co_return;
    }
    const auto r = co_await s.read_raw();
    if (r.status != server::read_status::line) {
        problem_ = refusal::lost;  // whatever else was wrong, this is what matters now
        lost_by_ = r.status;
        co_return;
    }
    const std::size_t before = out.size();
    std::size_t used = 0;
    if (chunked_) {
        // BDAT: the chunk's octets, no more; a text body still follows the rules for lines (RFC 3030 3).
        used = static_cast<std::size_t>(std::min<std::uint64_t>(chunk_left_, r.line.size()));
        if (binary_) {
            out.append(r.line.substr(0, used));
        } else {
            reader_.feed(r.line.substr(0, used), out);
        }
        chunk_left_ -= used;
    } else {
        const auto fed = reader_.feed(r.line, out);
        used = fed.consumed;
        finished_ = fed.finished;
    }
    note_reader_problem();
    s.consume_input(used);
    // DATA counts the message as stored (stuffing dots removed); BDAT counts what the client sent, the sizes it
    // chose, so "N octets received" and the SIZE limit match its own arithmetic whatever normalising adds.
    octets_ += chunked_ ? used : out.size() - before;
    if (const auto rate = d_.settings().min_data_rate; rate > 0) {
        const auto allowed = d_.settings().data_rate_grace + std::chrono::milliseconds(octets_ * 1000 / rate);
        if (std::chrono::steady_clock::now() - started_ > allowed) {
            problem_ = refusal::lost;  // too slow: treated as a timeout, and nothing is acknowledged
            lost_by_ = server::read_status::timeout;
            co_return;
        }
    }
    if (octets_ > d_.settings().max_message_size) {
        refuse(refusal::too_big);  // RFC 1870 6.3: the rest is read and dropped, the disk is not filled
    }
}

// Between chunks: acknowledge the one received, then read the next command. BDAT continues the message;
// NOOP and HELP are answered and the sequence goes on; RSET and QUIT end it (the message is not stored) and
// are then served as usual; anything else is refused with 503 and changes nothing (RFC 3030 2, RFC 5321 4.1.4).
asio::awaitable<void> incoming::next_chunk() {
    auto& s = d_.session();
    if (problem_ == refusal::none) {
        d_.reply(replies::chunk_received(octets_));
    } else {
        d_.reply(replies::chunk_dropped);
    }
    for (;;) {
        const auto r = co_await s.read_line();
        if (r.status != server::read_status::line) {
            problem_ = refusal::lost;
            lost_by_ = r.status;
            co_return;
        }
        // What the state table allows inside a BDAT sequence: BDAT continues the message, NOOP and HELP are
        // answered, RSET and QUIT end it; anything else is refused and changes nothing.
        const auto c = parse(r.line);
        if (c.error || !allowed(c.v, state::chunking)) {
            if (d_.error(replies::only_bdat_in_sequence) == next::close) {
                problem_ = refusal::lost;
                lost_by_ = server::read_status::error;
                co_return;
            }
            continue;
        }
        if (c.v == verb::bdat) {
            const auto chunk = parse_bdat(c.argument);
            if (!chunk) {
                d_.reply(replies::bdat_syntax);  // its size is unknown
                problem_ = refusal::lost;
                lost_by_ = server::read_status::error;
                co_return;
            }
            chunk_left_ = chunk->size;
            last_ = chunk->last;
            co_return;
        }
        if (c.v == verb::noop || c.v == verb::help) {
            d_.reply(c.v == verb::noop ? replies::ok : replies::help);
            continue;
        }
        interrupting_ = std::string(r.line);  // RSET or QUIT: served once the message is dropped
        problem_ = refusal::interrupted;
        co_return;
    }
}

}  // namespace mailwright::smtp::detail
