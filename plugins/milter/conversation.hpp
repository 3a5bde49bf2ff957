// One conversation with one milter about one message: the connection, the negotiation, and each command with
// its answer under the milter's deadlines. Every failure (the connection, a deadline, the protocol) leaves the
// conversation broken, with why() for the log; the filter then applies the milter's default_action.
#pragma once

#include <asio/awaitable.hpp>
#include <chrono>
#include <deque>
#include <mailwright/net/stream.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "config.hpp"
#include "protocol.hpp"

namespace mailwright::milter {

// What a milter said to a command before the end of the message.
struct answer {
    enum class kind { go_on, accept, reject, tempfail, discard, skip, broken };
    kind what = kind::go_on;
    std::optional<smtp_reply> reply;  // SMFIR_REPLYCODE's reply (with reject or tempfail)
};

class conversation {
  public:
    explicit conversation(const milter_settings& settings) : settings_(settings) {}

    const milter_settings& settings() const noexcept { return settings_; }
    const agreement& agreed() const noexcept { return agreed_; }
    bool broken() const noexcept { return !why_.empty(); }
    const std::string& why() const noexcept { return why_; }

    // Connects and negotiates; false when the milter cannot be asked (why()).
    asio::awaitable<bool> open();
    // The packets are the caller's, alive until the call ends (name them: no temporaries inside co_await).
    // Sends `packets` (macros, then a command of step `s`) and reads the answer when the milter gives one.
    asio::awaitable<answer> exchange(std::string_view packets, step s);
    // Sends packets no answer follows (macros, end of the body's start, abort).
    asio::awaitable<bool> send(std::string_view packets);
    // The next response within `timeout`, progress reports passed over (each one restarts the deadline, as
    // libmilter's smfi_progress() is meant to); nullopt when the conversation broke.
    asio::awaitable<std::optional<response>> next(std::chrono::milliseconds timeout);
    // Says goodbye (QUIT) and closes; nothing is awaited from the milter.
    asio::awaitable<void> quit();
    // Marks the conversation broken and closes the connection.
    void fail(std::string why);

  private:
    const milter_settings& settings_;
    std::unique_ptr<net::stream> stream_;
    decoder decoder_;
    std::deque<response> pending_;
    agreement agreed_;
    std::string why_;
};

}  // namespace mailwright::milter
