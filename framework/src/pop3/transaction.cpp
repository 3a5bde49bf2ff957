// The POP3 TRANSACTION state (RFC 1939 5, RFC 2449 TOP and UIDL): the maildrop's listing, retrieval with dot
// stuffing, deletion marks and UPDATE on QUIT. The dialogue around it is session.cpp.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>

#include "dialogue.hpp"
#include "mailwright/io/dot_stuffing.hpp"
#include "plugin/reply_text.hpp"
#include "replies.hpp"

namespace mailwright::pop3::detail {

// --- TRANSACTION --------------------------------------------------------------------------------------------

std::pair<std::size_t, std::uint64_t> dialogue::totals() const {
    std::size_t count = 0;
    std::uint64_t octets = 0;
    const auto& messages = drop_->messages();
    for (std::size_t i = 0; i < messages.size(); ++i) {
        if (!drop_->is_deleted(i)) {
            ++count;
            octets += messages[i].size;
        }
    }
    return {count, octets};
}

std::optional<std::size_t> dialogue::message(std::string_view argument) {
    const auto number = message_number(argument);
    if (!number) {
        err(replies::invalid_message_number(printable(argument)));
        return std::nullopt;
    }
    if (*number > drop_->messages().size()) {
        err(replies::no_message(*number));
        return std::nullopt;
    }
    const std::size_t index = *number - 1;
    if (drop_->is_deleted(index)) {
        err(replies::message_is_deleted(*number));
        return std::nullopt;
    }
    return index;
}

void dialogue::on_stat() {
    const auto [count, octets] = totals();
    ok(replies::stat(count, octets));
}

void dialogue::on_list(const parsed& p, bool uids) {
    const auto& messages = drop_->messages();
    auto entry = [&](std::size_t i) {
        return uids ? replies::uidl_entry(i + 1, messages[i].uid) : replies::list_entry(i + 1, messages[i].size);
    };
    if (p.argc == 1) {
        if (const auto index = message(p.args[0])) {
            ok(entry(*index));
        }
        return;
    }
    const auto [count, octets] = totals();
    std::string text =
        fmt::format("+OK {}\r\n", uids ? std::string(replies::uid_listing_follows) : replies::drop_size(count, octets));
    for (std::size_t i = 0; i < messages.size(); ++i) {
        if (!drop_->is_deleted(i)) {
            text += entry(i);
            text += "\r\n";
        }
    }
    s_.reply(text + ".\r\n");
}

asio::awaitable<next> dialogue::on_retrieve(const parsed& p) {
    const auto index = message(p.args[0]);
    if (!index) {
        co_return next::go_on;
    }
    std::optional<std::size_t> body_lines;
    if (p.cmd == command::top) {
        body_lines = count(p.args[1]);
        if (!body_lines) {
            err(replies::invalid_line_count);
            co_return next::go_on;
        }
    }
    if (const auto v = co_await hook(plugin::pop3_event::retrieve, p.args[0], authenticated_); !v.ok()) {
        err(plugin::pop3_text(v, v.temporary() ? replies::temp_code : replies::no_code, replies::retrieval_refused));
        co_return next::go_on;
    }
    auto opened = co_await drop_->open_message(*index, body_lines);
    if (opened.status != store_status::ok) {
        err(opened.status == store_status::not_found ? replies::message_gone : replies::message_unreadable);
        co_return next::go_on;
    }
    if (p.cmd == command::retr) {
        ok(replies::retr_follows(drop_->messages()[*index].size));
    } else {
        ok(replies::top_follows);
    }
    // The message streams through: read a chunk, stuff it, and write whenever enough is queued.
    std::string out;
    io::dot_stuffer stuffer;
    std::array<char, 16 * 1024> buffer;
    for (;;) {
        const auto chunk = co_await opened.reader->read_some(buffer);
        if (chunk.ec) {
            // The positive reply is out: an -ERR now would read as message text. Closing without the final
            // dot is the only way to tell the client the message is incomplete (RFC 1939 3).
            spdlog::error("{} reading message {} failed: {}", s_.log_prefix(), *index + 1, chunk.ec.message());
            co_await s_.flush();
            co_return next::close;
        }
        if (chunk.bytes == 0) {
            break;
        }
        out.clear();
        stuffer.append(std::string_view(buffer.data(), chunk.bytes), out);
        s_.reply(out);
        if (s_.pending_output() >= flush_threshold) {
            const std::error_code failed = co_await s_.flush();
            if (failed) {
                co_return next::close;
            }
        }
    }
    out.clear();
    stuffer.finish(out);
    s_.reply(out);
    co_return next::go_on;
}

asio::awaitable<next> dialogue::on_dele(const parsed& p) {
    const auto index = message(p.args[0]);
    if (!index) {
        co_return next::go_on;
    }
    if (const auto v = co_await hook(plugin::pop3_event::remove, p.args[0], authenticated_); !v.ok()) {
        err(plugin::pop3_text(v, v.temporary() ? replies::temp_code : replies::no_code, replies::deletion_refused));
        co_return next::go_on;
    }
    drop_->mark_deleted(*index);  // applied only in UPDATE
    ok(replies::deleted(*index + 1));
    co_return next::go_on;
}

void dialogue::on_rset() {
    drop_->undelete_all();
    const auto [count, octets] = totals();
    ok(replies::reset(count, octets));
}

asio::awaitable<next> dialogue::on_quit() {
    if (state_ != state::transaction) {
        ok(replies::bye);
        co_return next::close;
    }
    state_ = after(command::quit, state_);
    const auto status = co_await drop_->commit();
    drop_.reset();  // releases the lock before the client hears the answer
    if (status != store_status::ok) {
        spdlog::error("{} UPDATE for {} failed", s_.log_prefix(), authenticated_);
        err(replies::commit_failed);
        co_return next::close;
    }
    ok(replies::bye);
    co_return next::close;
}

}  // namespace mailwright::pop3::detail
