// SMTP's minimum data rate: a client that trickles its message is disconnected although every single read
// meets its deadline (slow-loris), and nothing of the message is stored or acknowledged.
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <deque>
#include <string>

#include "mailwright/plugin/auth.hpp"
#include "mailwright/plugin/mailstore.hpp"
#include "mailwright/server/session.hpp"
#include "mailwright/smtp/service.hpp"
#include "support.hpp"

using namespace mailwright;

namespace {

// Hands out each command as its own segment, then the message one octet per read, each after a pause.
class trickle_stream final : public net::stream {
  public:
    trickle_stream(std::deque<std::string> commands, std::string slow, std::chrono::milliseconds pause)
        : commands_(std::move(commands)), slow_(std::move(slow)), pause_(pause) {}
    asio::awaitable<net::io_result> read_some(std::span<char> buffer) override {
        if (!commands_.empty()) {
            const std::string c = std::move(commands_.front());
            commands_.pop_front();
            std::copy_n(c.data(), c.size(), buffer.data());  // commands are short: they fit
            co_return net::io_result{{}, c.size()};
        }
        if (at_ >= slow_.size()) {
            co_return net::io_result{asio::error::eof, 0};
        }
        asio::steady_timer timer(co_await asio::this_coro::executor, pause_);
        co_await timer.async_wait(asio::use_awaitable);
        buffer[0] = slow_[at_++];
        co_return net::io_result{{}, 1};
    }
    asio::awaitable<net::io_result> write_all(std::span<const char> data) override {
        output.append(data.data(), data.size());
        co_return net::io_result{{}, data.size()};
    }
    void set_timeout(std::chrono::milliseconds) override {}
    void interrupt() override {}
    void close() override {}

    std::string output;

  private:
    std::deque<std::string> commands_;
    std::string slow_;
    std::size_t at_ = 0;
    std::chrono::milliseconds pause_;
};

class users final : public plugin::auth_backend {
  public:
    void init(plugin::settings&, plugin::host_view&) override {}
    asio::awaitable<plugin::auth_result> verify_password(std::string_view, std::string_view) override {
        co_return plugin::auth_result{};
    }
    asio::awaitable<plugin::auth_result> lookup(std::string_view user) override {
        co_return plugin::auth_result{plugin::auth_status::ok, std::string(user), {}};
    }
};

// Takes a message and counts it when committed.
class counted final : public plugin::delivery {
  public:
    counted(int& stored, std::size_t recipients) : stored_(stored), recipients_(recipients) {}
    asio::awaitable<bool> write(std::span<const char>) override { co_return true; }
    asio::awaitable<plugin::delivery_result> commit(const std::vector<bool>&) override {
        ++stored_;
        co_return plugin::delivery_result::all(recipients_, plugin::reply::accept());
    }

  private:
    int& stored_;
    std::size_t recipients_;
};

class counting_store final : public plugin::mailstore {
  public:
    void init(plugin::settings&, plugin::host_view&) override {}
    asio::awaitable<plugin::open_result> open(std::string_view) override { co_return plugin::open_result{}; }
    asio::awaitable<std::unique_ptr<plugin::delivery>> begin(std::span<const std::string> recipients,
                                                             const plugin::envelope*) override {
        co_return std::make_unique<counted>(stored, recipients.size());
    }
    int stored = 0;
};

struct outcome {
    std::string output;
    int stored = 0;
};

outcome send(std::chrono::milliseconds pause, std::uint64_t min_rate) {
    const std::string message = "Subject: slow\r\n\r\n" + std::string(40, 'x') + "\r\n.\r\nQUIT\r\n";
    auto stream = std::make_unique<trickle_stream>(
        std::deque<std::string>{"EHLO client.example\r\n", "MAIL FROM:<a@remote.example>\r\n",
                                "RCPT TO:<bob@example.org>\r\n", "DATA\r\n"},
        message, pause);
    auto* raw = stream.get();
    users auth;
    auto store = std::make_shared<counting_store>();
    smtp::options o;
    o.hostname = "mx.example.org";
    o.local_domains = {"example.org"};
    o.min_data_rate = min_rate;
    o.data_rate_grace = std::chrono::milliseconds(0);
    smtp::environment env;
    env.auth = &auth;
    env.store = store;
    smtp::service svc(o, env);
    server::session s(std::move(stream), server::session_info{.id = 1, .peer = {"192.0.2.1", 1}},
                      server::session_options{.limits = svc.default_line_limits()});
    test::run([&]() -> asio::awaitable<void> {
        co_await svc.serve(s);
        co_await s.flush();
    }());
    return {raw->output, store->stored};
}

}  // namespace

TEST_CASE("smtp: a message trickled below the minimum data rate ends the session, nothing stored",
          "[smtp][session][limits]") {
    // 10 ms per octet is at most 100 octets/s, far below 5,000 octets/s: however slow the machine, too slow.
    const auto slow = send(std::chrono::milliseconds(10), 5000);
    CHECK(slow.stored == 0);
    CHECK(slow.output.find("421 4.4.2 Timeout while receiving the message") != std::string::npos);
    CHECK(slow.output.find("250 2.0.0 OK") == std::string::npos);
}

TEST_CASE("smtp: without a minimum the same trickle is accepted", "[smtp][session][limits]") {
    const auto patient = send(std::chrono::milliseconds(1), 0);
    CHECK(patient.stored == 1);
    CHECK(patient.output.find("250 2.0.0 OK: stored as") != std::string::npos);
}
