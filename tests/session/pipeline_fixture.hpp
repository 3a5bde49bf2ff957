// The message pipeline's test fixture: a store that logs what it is asked, a filter made of parts, and a way to
// push a message cut anywhere (tests/session/test_message_pipeline.cpp, test_pipeline_edits.cpp).
#pragma once

#include <asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "mailwright/pipeline/message_pipeline.hpp"
#include "support.hpp"

namespace pipeline_test {

using namespace mailwright;
using plugin::reply;

// What one delivery was asked to do.
struct store_log {
    std::string text;
    std::vector<bool> wanted;  // as commit() was given it; empty: not committed
    bool begun = false;
    bool given_up = false;
};

class logged_delivery final : public plugin::delivery {
  public:
    explicit logged_delivery(store_log& log) : log_(log) {}
    ~logged_delivery() override { log_.given_up = log_.wanted.empty(); }
    asio::awaitable<bool> write(std::span<const char> piece) override {
        log_.text.append(piece.data(), piece.size());
        co_return true;
    }
    asio::awaitable<plugin::delivery_result> commit(const std::vector<bool>& wanted) override {
        log_.wanted = wanted;
        co_return plugin::delivery_result::all(wanted.size(), reply::accept());
    }

  private:
    store_log& log_;
};

class logged_store final : public plugin::mailstore {
  public:
    store_log log;
    void init(plugin::settings&, plugin::host_view&) override {}
    asio::awaitable<plugin::open_result> open(std::string_view) override { co_return plugin::open_result{}; }
    asio::awaitable<std::unique_ptr<plugin::delivery>> begin(std::span<const std::string>,
                                                             const plugin::envelope*) override {
        log.begun = true;
        co_return std::make_unique<logged_delivery>(log);
    }
};

// A filter made of parts: each test sets what it needs.
struct scripted_filter final : plugin::message_filter {
    std::vector<std::string>* seen = nullptr;
    std::function<plugin::field_action(const imf::header_field&)> on_header;
    plugin::header_changes changes;
    std::size_t* body_octets = nullptr;  // outlives the filter, which the pipeline destroys
    plugin::filter_verdict verdict;

    plugin::field_action header(const imf::header_field& field) override {
        if (seen != nullptr) {
            seen->emplace_back(field.raw);
        }
        return on_header ? on_header(field) : plugin::field_action::keep;
    }
    asio::awaitable<reply> headers_done(plugin::header_changes& c) override {
        c.prepend.insert(c.prepend.end(), changes.prepend.begin(), changes.prepend.end());
        c.append.insert(c.append.end(), changes.append.begin(), changes.append.end());
        co_return reply::accept();
    }
    asio::awaitable<void> body(std::span<const char> piece) override {
        if (body_octets != nullptr) {
            *body_octets += piece.size();
        }
        co_return;
    }
    bool edits = false;  // edits_at_end()
    bool edits_at_end() const noexcept override { return edits; }
    asio::awaitable<plugin::filter_verdict> end() override { co_return verdict; }
};

struct fixture {
    logged_store store;
    std::vector<std::string> users{"alice", "bob"};
    plugin::envelope envelope;
    pipeline::filter_list filters;

    fixture() {
        envelope.recipients.push_back({"alice@example.org", {"alice"}, {}, {}});
        envelope.recipients.push_back({"bob@example.org", {"bob"}, {}, {}});
        envelope.recipients.push_back({"a.lias@example.org", {"alice"}, {}, {}});
    }
    scripted_filter& add(std::string name = "scripted") {
        auto f = std::make_unique<scripted_filter>();
        auto& ref = *f;
        filters.push_back({std::move(name), std::move(f)});
        return ref;
    }
    // Pushes `message` cut at `cuts`, and finishes.
    std::vector<reply> push(const std::string& message, std::vector<std::size_t> cuts = {},
                            pipeline::answers heard = pipeline::answers::each_recipient) {
        pipeline::message_pipeline p(store, users, &envelope, std::move(filters));
        return test::run([&]() -> asio::awaitable<std::vector<reply>> {
            co_await p.begin("Received: by test\r\n");
            std::size_t at = 0;
            cuts.push_back(message.size());
            for (const std::size_t cut : cuts) {
                p.buffer().append(message, at, cut - at);
                at = cut;
                if (p.full()) {
                    co_await p.flush();
                }
            }
            co_return co_await p.finish(heard);
        }());
    }
};

}  // namespace pipeline_test
