// message_pipeline: see the header.
#include "mailwright/pipeline/message_pipeline.hpp"

#include <algorithm>

#include "plugin/barrier.hpp"
#include "plugin/reply_text.hpp"

namespace mailwright::pipeline {

message_pipeline::message_pipeline(plugin::mailstore& store, std::span<const std::string> users,
                                   const plugin::envelope* envelope, filter_list filters)
    : store_(store), users_(users), envelope_(envelope), filters_(std::move(filters)), in_headers_(!filters_.empty()) {
    buffer_.reserve(piece_size + 8 * 1024);  // a piece and the line that went past it
}

message_pipeline::~message_pipeline() = default;  // a delivery not committed is given up by its destructor

namespace {
constexpr std::string_view refusing = "refusing the message for now";
}  // namespace

// Calls `call` on every filter, behind the fault barrier: one that throws refuses the message for now.
template <class Call>
void message_pipeline::each_filter(std::string_view what, Call call) {
    for (auto& f : filters_) {
        if (refusal_) {
            return;
        }
        const bool returned = plugin::barrier::guard_now(f->name(), what, refusing, [&] { call(*f); });
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
        auto attempt = [&] { return call(*f); };
        auto answer = co_await plugin::barrier::guard(f->name(), what, refusing, attempt);
        if (!answer) {
            refuse(plugin::reply::tempfail());
        } else if (!answer->ok()) {
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
    auto started = co_await store_.begin(users_, envelope_);
    if (!started) {
        refuse(plugin::reply::tempfail());
        co_return;
    }
    delivery_ = std::move(started);
    buffer_.assign(trace);
    header_start_ = scanned_ = filtered_ = buffer_.size();
}

std::size_t message_pipeline::header_end() {
    if (buffer_.compare(header_start_, 2, "\r\n") == 0) {
        return header_start_ + 2;  // no header fields at all: the message starts with the blank line
    }
    const std::size_t from = std::max(header_start_, scanned_ < 3 ? 0 : scanned_ - 3);
    const std::size_t at = buffer_.find("\r\n\r\n", from);
    scanned_ = buffer_.size();
    return at == std::string::npos ? at : at + 4;
}

// Shows the filters each field of the header block [header_start_, end), then writes what they add above it.
asio::awaitable<void> message_pipeline::end_headers(std::size_t end) {
    const std::string_view block(buffer_.data() + header_start_, end - header_start_);
    for (std::size_t at = 0; at < block.size() && !refusal_;) {  // a refusal empties the buffer
        std::size_t next = block.find("\r\n", at);
        // A field goes on over lines that start with white space (folding, RFC 5322 2.2.3).
        while (next != std::string_view::npos && next + 2 < block.size() &&
               (block[next + 2] == ' ' || block[next + 2] == '\t')) {
            next = block.find("\r\n", next + 2);
        }
        next = next == std::string_view::npos ? block.size() : next + 2;
        if (const auto field = block.substr(at, next - at); field != "\r\n") {
            each_filter("header", [&](plugin::message_filter& f) { f.header(field); });
        }
        at = next;
    }
    std::vector<std::string> added;
    auto headers_done = [&](plugin::message_filter& f) { return f.headers_done(added); };  // named: g++ 12
    co_await ask_filters("headers_done", headers_done);
    if (refusal_) {
        co_return;
    }
    std::string fields;
    for (const auto& field : added) {
        fields += plugin::clean_text(field);  // one line each: a filter cannot end the header block early
        fields += "\r\n";
    }
    buffer_.insert(header_start_, fields);
    filtered_ = end + fields.size();
    in_headers_ = false;
}

asio::awaitable<void> message_pipeline::pass(bool last) {
    if (refusal_ || store_gave_up_) {
        buffer_.clear();
        co_return;
    }
    if (in_headers_) {
        std::size_t end = header_end();
        if (end == std::string::npos && !last && buffer_.size() - header_start_ < max_header_block) {
            co_return;  // held until the header block ends
        }
        co_await end_headers(end == std::string::npos ? buffer_.size() : end);
        if (refusal_) {
            co_return;
        }
    }
    if (!filters_.empty() && filtered_ < buffer_.size()) {
        const std::span<const char> fresh(buffer_.data() + filtered_, buffer_.size() - filtered_);
        each_filter("body", [&](plugin::message_filter& f) { f.body(fresh); });
        if (refusal_) {
            co_return;
        }
        filtered_ = buffer_.size();
    }
    std::size_t written = 0;
    while (buffer_.size() - written >= piece_size || (last && written < buffer_.size())) {
        const std::size_t n = std::min(piece_size, buffer_.size() - written);
        const bool taken = co_await delivery_->write(std::span<const char>(buffer_.data() + written, n));
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

asio::awaitable<plugin::delivery_result> message_pipeline::finish() {
    co_await pass(true);
    auto end = [](plugin::message_filter& f) { return f.end(); };  // named: g++ 12
    co_await ask_filters("end", end);
    if (refusal_) {
        co_return plugin::delivery_result::all(users_.size(), *refusal_);
    }
    auto result = co_await delivery_->commit();
    delivery_.reset();
    if (result.recipients.size() != users_.size()) {
        // A store that does not answer for every recipient cannot be trusted with any of them.
        co_return plugin::delivery_result::all(users_.size(), plugin::reply::tempfail());
    }
    co_return result;
}

}  // namespace mailwright::pipeline
