// message_pipeline: see the header.
#include "mailwright/pipeline/message_pipeline.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "field_edits.hpp"
#include "mailwright/imf/header.hpp"
#include "mailwright/io/spool.hpp"
#include "plugin/barrier.hpp"
#include "plugin/reply_text.hpp"

namespace mailwright::pipeline {

message_pipeline::message_pipeline(plugin::mailstore& store, std::span<const std::string> users,
                                   const plugin::envelope* envelope, filter_list filters)
    : store_(store), users_(users), envelope_(envelope), filters_(std::move(filters)), in_headers_(!filters_.empty()) {
    buffer_.reserve(piece_size + 8 * 1024);  // a piece and the line that went past it
    for (const auto& f : filters_) {
        if (!f.filter) {
            refuse(plugin::reply::tempfail());  // the host logged why it could not be made
        } else {
            held_ = held_ || f.filter->edits_at_end();
        }
    }
}

message_pipeline::~message_pipeline() = default;  // a delivery not committed is given up by its destructor

namespace {

constexpr std::string_view refusing = "refusing the message for now";

void log_refusal(std::string_view plugin, std::string_view when, const plugin::reply& r) {
    spdlog::info("plugin={} refused the message at {} {}: {}", plugin, when, r.temporary() ? "for now" : "for good",
                 r.text);
}

// What a recipient hears of its users' deliveries: the first temporary failure, else the first refusal. No
// answer at all is no delivery: never success.
plugin::reply combined(const std::vector<plugin::reply>& answers) {
    if (answers.empty()) {
        return plugin::reply::tempfail();
    }
    const auto failed = std::find_if(answers.begin(), answers.end(), [](const auto& r) { return r.temporary(); });
    if (failed != answers.end()) {
        return *failed;
    }
    const auto refused = std::find_if(answers.begin(), answers.end(), [](const auto& r) { return r.permanent(); });
    return refused != answers.end() ? *refused : plugin::reply::accept();
}

}  // namespace

// Calls `call` on every filter, behind the fault barrier: one that throws refuses the message for now.
template <class Call>
void message_pipeline::each_filter(std::string_view what, Call call) {
    for (auto& f : filters_) {
        if (refusal_) {
            return;
        }
        const bool returned = plugin::barrier::guard_now(f.name, what, refusing, [&] { call(*f.filter); });
        if (!returned) {
            refuse(plugin::reply::tempfail());
        }
    }
}

// Asks every filter in turn (`call` gives the awaitable), behind the fault barrier; the first refusal stands.
template <class Call>
asio::awaitable<void> message_pipeline::ask_filters(std::string_view what, Call call) {
    for (auto& f : filters_) {
        if (refusal_) {
            co_return;
        }
        auto attempt = [&] { return call(*f.filter); };
        auto answer = co_await plugin::barrier::guard(f.name, what, refusing, attempt);
        if (!answer) {
            refuse(plugin::reply::tempfail());
        } else if (!answer->ok()) {
            log_refusal(f.name, what, *answer);
            refuse(std::move(*answer));
        }
    }
}

void message_pipeline::refuse(plugin::reply r) {
    refusal_ = std::move(r);
    delivery_.reset();
    buffer_.clear();
}

asio::awaitable<void> message_pipeline::begin(std::string_view trace) {
    if (refusal_) {
        co_return;
    }
    if (!held_) {
        // A message held back for filters that edit at the end begins in the store when they have answered
        // (release()): a store that hands it on would keep its next hop waiting meanwhile.
        auto started = co_await store_.begin(users_, envelope_);
        if (!started) {
            refuse(plugin::reply::tempfail());
            co_return;
        }
        delivery_ = std::move(started);
    }
    buffer_.assign(trace);
    header_start_ = scanned_ = filtered_ = buffer_.size();
}

// After the empty line ("\r\n", or "\n" in a binary body) that follows a line end.
std::size_t message_pipeline::header_end() {
    if (imf::is_block_end(std::string_view(buffer_).substr(header_start_, 2)) ||
        imf::is_block_end(std::string_view(buffer_).substr(header_start_, 1))) {
        return header_start_ + (buffer_[header_start_] == '\r' ? 2 : 1);  // no fields: the blank line first
    }
    for (std::size_t lf = buffer_.find('\n', std::max(header_start_, scanned_ < 2 ? 0 : scanned_ - 2));
         lf != std::string::npos; lf = buffer_.find('\n', lf + 1)) {
        if (lf + 1 < buffer_.size() && buffer_[lf + 1] == '\n') {
            return lf + 2;
        }
        if (lf + 2 < buffer_.size() && buffer_.compare(lf + 1, 2, "\r\n") == 0) {
            return lf + 3;
        }
        if (lf + 2 >= buffer_.size()) {
            break;  // not known yet: the next octets tell
        }
    }
    scanned_ = buffer_.size();
    return std::string::npos;
}

// Shows the filters each field of the header block [header_start_, end), then puts the block back as they
// leave it: the fields they prepend, the client's fields they kept, the fields they append, the blank line.
asio::awaitable<void> message_pipeline::end_headers(std::size_t end) {
    std::string blank_line;
    std::string kept = kept_fields(end, blank_line);
    if (refusal_) {
        co_return;
    }
    plugin::header_changes changes;
    auto headers_done = [&](plugin::message_filter& f) { return f.headers_done(changes); };  // named: g++ 12
    co_await ask_filters("headers_done", headers_done);
    if (refusal_) {
        co_return;
    }
    std::string above;
    std::string below;
    add_fields(above, changes.prepend);
    add_fields(below, changes.append);
    if (refusal_) {
        co_return;
    }
    in_headers_ = false;
    if (held_) {
        // Held until every filter has answered: the trace and the fields here (which the client wrote: the
        // index of a milter's change counts those), the body in the spool.
        trace_.assign(buffer_, 0, header_start_);
        fields_ = split_fields(above, false);
        for (auto* part : {&kept, &below}) {
            auto more = split_fields(*part, part == &kept);
            fields_.insert(fields_.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
        }
        blank_line_ = std::move(blank_line);
        buffer_.erase(0, end);
        header_start_ = scanned_ = filtered_ = 0;
        co_return;
    }
    std::string block = std::move(above);
    block += kept;
    if (!below.empty() && !kept.empty() && kept.back() != '\n') {
        block += "\r\n";  // a message that ends in its last field, without a line end: the field ends here
    }
    block += below;
    block += blank_line;
    buffer_.replace(header_start_, end - header_start_, block);
    filtered_ = header_start_ + block.size();
}

// Fields a filter adds, one line each (a control character becomes a space, so no filter can end the block
// early or fold a field of its own into another's), at most the 998 octets a line may have (RFC 5322 2.1.1):
// a longer one is not cut, the message is refused for now.
void message_pipeline::add_fields(std::string& block, const std::vector<std::string>& fields) {
    for (const auto& field : fields) {
        if (field.size() > max_added_field) {
            spdlog::error(
                "a message filter added a header field of {} octets (at most {}): refusing the message for now",
                field.size(), max_added_field);
            refuse(plugin::reply::tempfail());
            return;
        }
        for (const char c : field) {
            const auto u = static_cast<unsigned char>(c);
            block += u < 0x20 || u == 0x7f ? ' ' : c;
        }
        block += "\r\n";
    }
}

std::string message_pipeline::kept_fields(std::size_t end, std::string& blank_line) {
    const std::string_view whole(buffer_.data() + header_start_, end - header_start_);
    std::string kept;
    kept.reserve(whole.size());
    for (std::size_t at = 0; at < whole.size() && !refusal_;) {
        const std::size_t next = imf::field_end(whole, at);
        const std::string_view raw = whole.substr(at, next - at);
        at = next;
        if (imf::is_block_end(raw)) {
            blank_line = raw;  // the rest is body
            break;
        }
        const imf::header_field field = imf::parse_field(raw);
        bool keep = true;
        each_filter("header", [&](plugin::message_filter& f) {
            keep = keep && f.header(field) == plugin::field_action::keep;  // later filters do not see it
        });
        if (keep) {
            kept += raw;
        }
    }
    return kept;
}

// Every filter's body(), behind the fault barrier: one that throws refuses the message for now.
asio::awaitable<void> message_pipeline::pass_body(std::span<const char> fresh) {
    for (auto& f : filters_) {
        if (refusal_) {
            co_return;
        }
        auto attempt = [&]() -> asio::awaitable<bool> {
            co_await f.filter->body(fresh);
            co_return true;
        };
        const auto returned = co_await plugin::barrier::guard(f.name, "body", refusing, attempt);
        if (!returned) {
            refuse(plugin::reply::tempfail());
        }
    }
}

asio::awaitable<void> message_pipeline::pass(bool last) {
    if (refusal_ || store_gave_up_) {
        buffer_.clear();
        co_return;
    }
    if (!started_ && buffer_.size() > header_start_) {
        started_ = true;
        if (buffer_[header_start_] == ' ' || buffer_[header_start_] == '\t') {
            // A first line that starts with white space would continue the trace field above it (our Received,
            // or a filter's Authentication-Results): the client would write into the server's own words.
            refuse(plugin::reply::smtp(550, "5.6.0", "the message starts with white space, a fold of no field"));
            co_return;
        }
    }
    if (in_headers_) {
        const std::size_t end = header_end();
        if (end == std::string::npos && !last && buffer_.size() - header_start_ < max_header_block) {
            co_return;  // held until the header block ends
        }
        if (end == std::string::npos && !last) {
            // The filters cannot see it whole, and what they did not see could hold what they remove.
            refuse(plugin::reply::smtp(552, "5.3.4", "header block over 256 KiB"));
            co_return;
        }
        co_await end_headers(end == std::string::npos ? buffer_.size() : end);
        if (refusal_) {
            co_return;
        }
    }
    if (!filters_.empty() && filtered_ < buffer_.size()) {
        const std::span<const char> fresh(buffer_.data() + filtered_, buffer_.size() - filtered_);
        co_await pass_body(fresh);
        if (refusal_) {
            co_return;
        }
        filtered_ = buffer_.size();
    }
    std::size_t written = 0;
    while (buffer_.size() - written >= piece_size || (last && written < buffer_.size())) {
        const std::size_t n = std::min(piece_size, buffer_.size() - written);
        const bool taken = co_await write_out(std::span<const char>(buffer_.data() + written, n));
        written += n;
        if (!taken) {
            store_gave_up_ = true;
            buffer_.clear();
            co_return;
        }
    }
    buffer_.erase(0, written);
    filtered_ -= std::min(filtered_, written);
    header_start_ -= std::min(header_start_, written);
    scanned_ -= std::min(scanned_, written);
}

// A piece for the store, or for the spool while the message is held.
asio::awaitable<bool> message_pipeline::write_out(std::span<const char> piece) {
    if (!held_) {
        co_return co_await delivery_->write(piece);
    }
    if (!spool_) {
        spool_ = std::make_unique<io::spool>();
    }
    const bool kept = co_await spool_->append(piece);
    if (!kept) {
        refuse(plugin::reply::tempfail());
    }
    co_return kept;
}

std::size_t message_pipeline::recipient_count() const noexcept {
    return envelope_ != nullptr ? envelope_->recipients.size() : users_.size();
}

// The entries in users_ of recipient `r`: the users the envelope names for it (without one, user r).
std::vector<std::size_t> message_pipeline::users_of(std::size_t r) const {
    if (envelope_ == nullptr) {
        return {r};
    }
    std::vector<std::size_t> indices;
    for (const auto& user : envelope_->recipients[r].users) {
        const auto at = std::find(users_.begin(), users_.end(), user);
        if (at != users_.end()) {
            indices.push_back(static_cast<std::size_t>(at - users_.begin()));
        }
    }
    return indices;
}

asio::awaitable<void> message_pipeline::ask_end(std::vector<plugin::reply>& per_recipient) {
    for (auto& f : filters_) {
        auto attempt = [&] { return f.filter->end(); };
        auto verdict = co_await plugin::barrier::guard(f.name, "end", refusing, attempt);
        if (!verdict) {
            refuse(plugin::reply::tempfail());
        } else if (!verdict->answer.ok()) {
            log_refusal(f.name, "end", verdict->answer);
            refuse(std::move(verdict->answer));
        } else if (verdict->discard) {
            spdlog::info("plugin={} discarded the message", f.name);
            discarded_ = true;
        } else if (!keep_edits(f, *verdict)) {
            refuse(plugin::reply::tempfail());
        } else if (!verdict->recipients.empty() && verdict->recipients.size() != per_recipient.size()) {
            spdlog::error("plugin={} answered for {} recipients of {}; refusing the message for now", f.name,
                          verdict->recipients.size(), per_recipient.size());
            refuse(plugin::reply::tempfail());
        } else {
            for (std::size_t r = 0; r < verdict->recipients.size(); ++r) {
                if (per_recipient[r].ok() && !verdict->recipients[r].ok()) {
                    log_refusal(f.name, "end for a recipient", verdict->recipients[r]);
                    per_recipient[r] = std::move(verdict->recipients[r]);
                }
            }
        }
        if (refusal_ || discarded_) {
            co_return;
        }
    }
}

asio::awaitable<std::vector<plugin::reply>> message_pipeline::finish(answers heard) {
    co_await pass(true);
    std::vector<plugin::reply> per_recipient(recipient_count(), plugin::reply::accept());
    if (!refusal_) {
        co_await ask_end(per_recipient);
    }
    if (!refusal_ && heard == answers::one_for_all) {
        if (const auto first = combined(per_recipient); !first.ok()) {
            refuse(first);
        }
    }
    if (refusal_) {
        co_return std::vector<plugin::reply>(recipient_count(), *refusal_);
    }
    if (discarded_) {
        delivery_.reset();  // given up: nothing is stored, and everyone hears success
        co_return per_recipient;
    }
    if (held_ && std::any_of(per_recipient.begin(), per_recipient.end(), [](const auto& r) { return r.ok(); })) {
        co_await release();
        if (refusal_) {
            co_return std::vector<plugin::reply>(recipient_count(), *refusal_);
        }
    }
    co_return co_await commit(std::move(per_recipient));
}

// A filter's edits and new body, kept for release(); false when it may not make them or they cannot be made.
bool message_pipeline::keep_edits(const filter_entry& f, plugin::filter_verdict& verdict) {
    if (verdict.edits.empty() && !verdict.new_body) {
        return true;
    }
    if (!f.filter->edits_at_end()) {
        spdlog::error("plugin={} changed the message at its end without edits_at_end(); refusing it for now", f.name);
        return false;
    }
    std::string why;
    if (!apply_edits(fields_, verdict.edits, &why)) {
        spdlog::error("plugin={} made a header change that cannot be made: {}; refusing the message for now", f.name,
                      why);
        return false;
    }
    if (join_fields(fields_).size() > max_header_block) {
        spdlog::error("plugin={} made the header block longer than {} octets; refusing the message for now", f.name,
                      max_header_block);
        return false;
    }
    if (verdict.new_body) {
        new_body_ = std::move(verdict.new_body);
    }
    return true;
}

// The held message goes to the store: the trace, the header block as the filters left it, then the body
// (a filter's new one, or the client's from the spool).
asio::awaitable<void> message_pipeline::release() {
    held_ = false;
    auto started = co_await store_.begin(users_, envelope_);  // only now: a next hop waits for nothing
    if (!started) {
        refuse(plugin::reply::tempfail());
        co_return;
    }
    delivery_ = std::move(started);
    buffer_ = std::move(trace_);
    const std::string fields = join_fields(fields_);
    buffer_ += fields;
    if (blank_line_.empty() && (new_body_ || spool_)) {
        // The client's message had no body, and no blank line: the body that follows must not join the fields.
        blank_line_ = fields.empty() || fields.back() == '\n' ? "\r\n" : "\r\n\r\n";
    }
    buffer_ += blank_line_;
    std::uint64_t offset = 0;
    for (;;) {
        const std::size_t start = buffer_.size();
        buffer_.resize(start + piece_size);
        const std::span<char> into(buffer_.data() + start, piece_size);
        long n = 0;
        if (new_body_) {
            auto chunk = co_await new_body_->read_some(into);  // named: g++ 12
            n = chunk.ec ? -1 : static_cast<long>(chunk.bytes);
        } else if (spool_) {
            n = co_await spool_->read(offset, into);
        }
        buffer_.resize(start + static_cast<std::size_t>(std::max(n, 0L)));
        if (n < 0) {
            refuse(plugin::reply::tempfail());
            co_return;
        }
        offset += static_cast<std::uint64_t>(n);
        filtered_ = buffer_.size();  // the filters saw it all before they answered
        const bool end = n == 0;
        co_await pass(end);
        if (end || refusal_ || store_gave_up_) {
            co_return;
        }
    }
}

asio::awaitable<std::vector<plugin::reply>> message_pipeline::commit(std::vector<plugin::reply> per_recipient) {
    std::vector<bool> wanted(users_.size(), false);
    for (std::size_t r = 0; r < per_recipient.size(); ++r) {
        for (const std::size_t u : per_recipient[r].ok() ? users_of(r) : std::vector<std::size_t>{}) {
            wanted[u] = true;
        }
    }
    if (std::find(wanted.begin(), wanted.end(), true) == wanted.end()) {
        delivery_.reset();  // every recipient was refused by a filter: nothing to store
        co_return per_recipient;
    }
    auto result = co_await delivery_->commit(wanted);
    delivery_.reset();
    if (result.recipients.size() != users_.size()) {
        // A store that does not answer for every mailbox cannot be trusted with any of them.
        result = plugin::delivery_result::all(users_.size(), plugin::reply::tempfail());
    }
    for (std::size_t r = 0; r < per_recipient.size(); ++r) {
        if (per_recipient[r].ok()) {
            std::vector<plugin::reply> answers;
            for (const std::size_t u : users_of(r)) {
                answers.push_back(result.recipients[u]);
            }
            per_recipient[r] = combined(answers);
        }
    }
    co_return per_recipient;
}

}  // namespace mailwright::pipeline
