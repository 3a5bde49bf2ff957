// A conversation with one milter over a net::stream: every read and write under a deadline.
#include "conversation.hpp"

#include <algorithm>
#include <array>
#include <asio/error.hpp>
#include <mailwright/net/connect.hpp>
#include <mailwright/net/error.hpp>
#include <vector>

namespace mailwright::milter {

namespace {

std::string describe(const std::error_code& ec) { return ec == net::errc::timeout ? "timed out" : ec.message(); }

}  // namespace

void conversation::fail(std::string why) {
    if (why_.empty()) {
        why_ = std::move(why);
    }
    if (stream_) {
        stream_->close();
        stream_.reset();
    }
}

asio::awaitable<bool> conversation::open() {
    auto connected = co_await net::connect(settings_.address, settings_.connect_timeout);
    if (!connected.stream) {
        fail("cannot connect to " + settings_.address.to_string() + ": " + describe(connected.ec));
        co_return false;
    }
    stream_ = std::move(connected.stream);
    const auto ours = our_offer(settings_.replace_body);
    const auto offer_packet = encode_optneg(ours.version, ours.actions, ours.flags);
    const bool sent = co_await send(offer_packet);
    if (!sent) {
        co_return false;
    }
    const auto reply = co_await next(settings_.command_timeout);
    if (!reply) {
        co_return false;
    }
    if (reply->code != response_code::optneg) {
        fail(std::string("answered the negotiation with '") + reply->code + "'");
        co_return false;
    }
    std::string error;
    auto agreed = negotiate(ours, reply->options, &error);
    if (!agreed) {
        fail(error);
        co_return false;
    }
    agreed_ = std::move(*agreed);
    co_return true;
}

asio::awaitable<bool> conversation::send(std::string_view packets) {
    if (broken()) {
        co_return false;
    }
    stream_->set_timeout(settings_.command_timeout);
    const auto written = co_await stream_->write_all(std::span<const char>(packets.data(), packets.size()));
    if (written.ec) {
        fail("cannot write: " + describe(written.ec));
        co_return false;
    }
    co_return true;
}

// The answer must come whole within `timeout`, however it trickles in; each progress report (SMFIR_PROGRESS)
// gives it `timeout` again, up to ten times `timeout` in all: a milter cannot hold the client for ever.
asio::awaitable<std::optional<response>> conversation::next(std::chrono::milliseconds timeout) {
    using clock = std::chrono::steady_clock;
    std::array<char, 16 * 1024> buffer;
    std::vector<response> decoded;
    const auto last_chance = clock::now() + 10 * timeout;
    auto deadline = clock::now() + timeout;
    while (!broken()) {
        while (!pending_.empty()) {
            response r = std::move(pending_.front());
            pending_.pop_front();
            if (r.code != response_code::progress) {
                co_return r;
            }
            deadline = std::min(clock::now() + timeout, last_chance);
        }
        if (decoder_.failed()) {
            fail("broke the protocol: " + decoder_.error());
            break;
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
        if (left.count() <= 0) {
            fail("did not answer in time");
            break;
        }
        stream_->set_timeout(left);
        const auto got = co_await stream_->read_some(std::span<char>(buffer.data(), buffer.size()));
        if (got.ec) {
            fail(got.ec == asio::error::eof ? "closed the connection" : "cannot read: " + describe(got.ec));
            break;
        }
        decoded.clear();
        decoder_.feed(std::string_view(buffer.data(), got.bytes), decoded);  // an error shows above, in turn
        for (auto& r : decoded) {
            pending_.push_back(std::move(r));
        }
    }
    co_return std::nullopt;
}

asio::awaitable<answer> conversation::exchange(std::string_view packets, step s) {
    const bool sent = co_await send(packets);
    if (!sent) {
        co_return answer{answer::kind::broken, {}};
    }
    if (!agreed_.replies(s)) {
        co_return answer{answer::kind::go_on, {}};
    }
    const auto r = co_await next(settings_.command_timeout);
    if (!r) {
        co_return answer{answer::kind::broken, {}};
    }
    namespace rc = response_code;
    switch (r->code) {
        case rc::continue_:
            co_return answer{answer::kind::go_on, {}};
        case rc::accept:
            co_return answer{answer::kind::accept, {}};
        case rc::reject:
            co_return answer{answer::kind::reject, {}};
        case rc::tempfail:
        case rc::connection_fail:  // drop the client (421): a filter cannot; the message waits instead
        case rc::shutdown:
            co_return answer{answer::kind::tempfail, {}};
        case rc::discard:
            co_return answer{answer::kind::discard, {}};
        case rc::reply_code:
            co_return answer{r->reply.code / 100 == 4 ? answer::kind::tempfail : answer::kind::reject, r->reply};
        case rc::skip:
            if (s == step::body && (agreed_.flags & flag::skip) != 0) {
                co_return answer{answer::kind::skip, {}};
            }
            break;
        default:
            break;
    }
    fail(std::string("answered a command with '") + r->code + "', which does not answer it");
    co_return answer{answer::kind::broken, {}};
}

asio::awaitable<void> conversation::quit() {
    if (!broken()) {
        const auto goodbye = encode_bare(command::quit);
        const bool sent = co_await send(goodbye);
        if (sent && stream_) {
            co_await stream_->shutdown();
        }
    }
    if (stream_) {
        stream_->close();
        stream_.reset();
    }
}

}  // namespace mailwright::milter
