// smtp::client::session: the connection, the I/O steps, and open(): greeting, EHLO/LHLO, STARTTLS or implicit
// TLS. AUTH is in client_auth.cpp, transactions in client_transaction.cpp.
#include <spdlog/spdlog.h>
#include <asio/error.hpp>
#include <filesystem>
#include <map>
#include <mutex>

#include "../tls/tls_stream.hpp"
#include "client_session.hpp"
#include "mailwright/net/error.hpp"

namespace mailwright::smtp::client {

using detail::own_reply;

namespace {

// Contexts by what decides them (the CA file's modification time included, so a renewed bundle is read
// again): loading the system store for every connection would cost more than the handshake.
std::shared_ptr<const tls::client_context> client_tls(const tls_options& o) {
    static std::mutex mutex;
    static std::map<std::string, std::shared_ptr<const tls::client_context>> cache;
    std::error_code ignored;
    const auto stamp =
        o.ca_file.empty() ? 0 : std::filesystem::last_write_time(o.ca_file, ignored).time_since_epoch().count();
    const std::string key = std::to_string(o.verify) + '\n' + o.ca_file + '\n' + o.fingerprint + '\n' +
                            std::to_string(o.handshake_timeout.count()) + '\n' + std::to_string(stamp);
    std::lock_guard lock(mutex);
    if (const auto it = cache.find(key); it != cache.end()) {
        return it->second;
    }
    auto made = tls::client_context::create({.verify = o.verify,
                                             .ca_file = o.ca_file,
                                             .fingerprint = o.fingerprint,
                                             .handshake_timeout = o.handshake_timeout});
    if (cache.size() >= 16) {
        cache.clear();
    }
    cache.emplace(key, made);
    return made;
}

}  // namespace

session::impl::impl(const options& o, const net::endpoint& w)
    : opts(o), where(w), peer((o.kind == protocol::lmtp ? "lmtp client peer=" : "smtp client peer=") + w.to_string()) {}

void session::impl::note(std::string_view said) const { spdlog::debug("{} > {}", peer, said); }

reply session::impl::fail(reply why) {
    if (!failure) {
        spdlog::info("{} failed: {}", peer, why.to_string());
        failure = std::move(why);
    }
    if (stream) {
        stream->close();
    }
    return *failure;
}

reply session::impl::fail(std::error_code ec, std::string_view doing) {
    if (failure) {
        return *failure;
    }
    if (ec == net::errc::timeout) {
        return fail(own_reply(451, "4.4.2", "timed out " + std::string(doing) + " " + where.to_string()));
    }
    return fail(own_reply(451, "4.4.2",
                          "connection to " + where.to_string() + " lost " + std::string(doing) + ": " + ec.message()));
}

asio::awaitable<reply> session::impl::refuse(reply why) {
    if (usable()) {
        note("QUIT");
        co_await send("QUIT\r\n", opts.command_timeout);
    }
    failure.reset();
    co_return fail(std::move(why));
}

asio::awaitable<bool> session::impl::send(std::string_view text, std::chrono::milliseconds timeout) {
    if (failure) {
        co_return false;
    }
    stream->set_timeout(timeout);
    const auto written = co_await stream->write_all({text.data(), text.size()});
    if (written.ec) {
        fail(written.ec, "while sending to");
        co_return false;
    }
    co_return true;
}

asio::awaitable<reply> session::impl::read_reply(std::chrono::milliseconds timeout) {
    detail::reply_parser parser(caps.has("ENHANCEDSTATUSCODES"));
    while (!failure) {
        const auto next = input.next();
        if (next.kind == io::line_buffer::status::line) {
            spdlog::debug("{} < {}", peer, next.line);
            const auto status = parser.feed(next.line);
            if (status == detail::reply_parser::status::done) {
                co_return parser.take();
            }
            if (status == detail::reply_parser::status::malformed) {
                co_return fail(
                    own_reply(451, "4.5.0", where.to_string() + " sent a malformed reply: " + parser.error()));
            }
            continue;
        }
        if (next.kind != io::line_buffer::status::need_more) {
            co_return fail(own_reply(
                451, "4.5.0",
                where.to_string() + " sent a reply line over " + std::to_string(detail::max_reply_line) + " octets"));
        }
        stream->set_timeout(timeout);
        const auto got = co_await stream->read_some(input.prepare());
        if (got.ec) {
            co_return fail(got.ec, "waiting for a reply from");
        }
        input.commit(got.bytes);
    }
    co_return *failure;
}

asio::awaitable<reply> session::impl::command(std::string_view line, std::string_view shown) {
    note(shown.empty() ? line : shown);
    out.assign(line);
    out += "\r\n";
    const bool sent = co_await send(out, opts.command_timeout);
    if (!sent) {
        co_return *failure;
    }
    co_return co_await read_reply(opts.command_timeout);
}

asio::awaitable<std::optional<reply>> session::impl::handshake() {
    std::shared_ptr<const tls::client_context> ctx;
    try {
        ctx = client_tls(opts.tls);
    } catch (const std::exception& e) {
        co_return fail(own_reply(451, "4.3.5", "TLS to " + where.to_string() + " is not set up: " + e.what()));
    }
    if (!opts.tls.verify && opts.tls.fingerprint.empty()) {
        spdlog::warn("{} TLS without certificate verification (verify = false): any certificate is accepted", peer);
    }
    auto tls_stream = std::make_unique<tls::tls_stream>(std::move(stream), ctx);
    auto* raw = tls_stream.get();
    stream = std::move(tls_stream);
    const std::string name = opts.tls.server_name.empty() ? where.host : opts.tls.server_name;
    const auto ec = co_await raw->connect(name, opts.command_timeout);
    if (ec && ec.category() == tls::category()) {
        co_return fail(own_reply(451, "4.7.5", "TLS with " + where.to_string() + " failed: " + ec.message()));
    }
    if (ec) {
        co_return fail(ec, "in the TLS handshake with");
    }
    encrypted = true;
    const auto channel = raw->channel();
    spdlog::debug("{} TLS {} {}", peer, channel.version, channel.cipher);
    co_return std::nullopt;
}

asio::awaitable<std::optional<reply>> session::impl::greet() {
    const auto greeting = co_await read_reply(opts.command_timeout);
    if (failure) {
        co_return failure;
    }
    if (greeting.code != 220) {
        co_return co_await refuse(greeting);
    }
    co_return std::nullopt;
}

asio::awaitable<std::optional<reply>> session::impl::hello() {
    const bool lmtp = opts.kind == protocol::lmtp;
    // Named, not built inside the co_await: g++ 12 mishandles temporaries there (docs/architecture.md).
    const std::string hello_line = (lmtp ? "LHLO " : "EHLO ") + opts.helo_name;
    auto answer = co_await command(hello_line);
    if (failure) {
        co_return failure;
    }
    if (answer.code == 250) {
        caps = detail::parse_ehlo(answer);
        co_return std::nullopt;
    }
    // RFC 5321 3.2: a server that knows no EHLO still knows HELO (LMTP has no such fallback).
    if (!lmtp && answer.code / 100 == 5) {
        const std::string helo_line = "HELO " + opts.helo_name;
        answer = co_await command(helo_line);
        if (failure) {
            co_return failure;
        }
        if (answer.code == 250) {
            caps = {};
            co_return std::nullopt;
        }
    }
    co_return co_await refuse(answer);
}

asio::awaitable<std::optional<reply>> session::impl::starttls() {
    if (!caps.has("STARTTLS")) {
        auto why =
            own_reply(451, "4.7.0", where.to_string() + " does not offer STARTTLS, which this next hop requires");
        co_return co_await refuse(std::move(why));
    }
    const auto answer = co_await command("STARTTLS");
    if (failure) {
        co_return failure;
    }
    if (answer.code != 220) {
        auto why = own_reply(451, "4.7.0", where.to_string() + " refused STARTTLS: " + answer.to_string());
        co_return co_await refuse(std::move(why));
    }
    // Whatever came with the go-ahead was sent in plaintext and could have been injected on the way (RFC 3207
    // 5): none of it may be read as if it came over TLS.
    if (const auto dropped = input.discard(); dropped > 0) {
        spdlog::warn("{} sent {} octets after its STARTTLS go-ahead; dropped", peer, dropped);
    }
    caps = {};  // RFC 3207 4.2: forget what was offered in plaintext
    co_return co_await handshake();
}

asio::awaitable<session::open_result> session::open(const net::endpoint& where, const options& o) {
    auto i = std::make_unique<impl>(o, where);
    auto connected = co_await net::connect(where, o.connect_timeout);
    if (connected.ec) {
        const auto why =
            own_reply(451, "4.4.1",
                      "cannot connect to " + where.to_string() + ": " +
                          (connected.ec == net::errc::timeout ? std::string("timed out") : connected.ec.message()));
        spdlog::info("{} failed: {}", i->peer, why.to_string());
        co_return open_result{nullptr, why};
    }
    i->stream = std::move(connected.stream);
    std::optional<reply> failed;
    if (o.tls.use == tls_options::mode::implicit) {
        failed = co_await i->handshake();
    }
    if (!failed) {
        failed = co_await i->greet();
    }
    if (!failed) {
        failed = co_await i->hello();
    }
    if (!failed && o.tls.use == tls_options::mode::starttls) {
        failed = co_await i->starttls();
        if (!failed) {
            failed = co_await i->hello();
        }
    }
    if (!failed && !o.user.empty()) {
        failed = co_await i->authenticate();
    }
    if (failed) {
        co_return open_result{nullptr, *failed};
    }
    co_return open_result{std::unique_ptr<session>(new session(std::move(i))), {}};
}

session::session(std::unique_ptr<impl> i) : impl_(std::move(i)) {}

session::~session() {
    if (impl_->stream) {
        impl_->stream->close();
    }
}

bool session::offers(std::string_view keyword) const {
    std::string upper(keyword);
    for (auto& c : upper) {
        c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    }
    return impl_->caps.has(upper);
}

std::optional<std::uint64_t> session::size_limit() const {
    const auto text = impl_->caps.parameters("SIZE");
    std::uint64_t value = 0;
    for (const char c : text) {
        if (c < '0' || c > '9' || value > (UINT64_MAX - 9) / 10) {
            return std::nullopt;
        }
        value = value * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return value == 0 ? std::nullopt : std::optional<std::uint64_t>(value);
}

bool session::encrypted() const noexcept { return impl_->encrypted; }
bool session::usable() const noexcept { return impl_->usable(); }

void session::park() noexcept {
    if (impl_->stream) {
        impl_->stream->park();
    }
}

}  // namespace mailwright::smtp::client
