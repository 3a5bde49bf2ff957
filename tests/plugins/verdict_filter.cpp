// Test hook plugin with a message filter that answers as its settings say (tests/integration/test_filters.py):
// a body holding `refuse_word` is refused (554 5.7.1), `tempfail_word` refused for now (451 4.7.1),
// `discard_word` discarded, `throw_word` makes end() throw; recipients in `refuse_recipients` are refused one by
// one (550 5.7.1); a field named `remove_field` is removed; "X-Verdict-Filter: seen" is prepended.
#include <algorithm>
#include <asio/awaitable.hpp>
#include <mailwright/plugin/hook.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace mw = mailwright::plugin;

struct words {
    std::string refuse, tempfail, discard, thrown, remove_field;
    std::vector<std::string> refuse_recipients;
};

class verdict_filter final : public mw::message_filter {
  public:
    verdict_filter(const words& w, std::vector<std::string> recipients) : w_(w), recipients_(std::move(recipients)) {}
    mw::field_action header(const mailwright::imf::header_field& field) override {
        return !w_.remove_field.empty() && field.is(w_.remove_field) ? mw::field_action::remove
                                                                     : mw::field_action::keep;
    }
    asio::awaitable<mw::reply> headers_done(mw::header_changes& changes) override {
        changes.prepend.push_back("X-Verdict-Filter: seen");
        co_return mw::reply::accept();
    }
    asio::awaitable<void> body(std::span<const char> piece) override {
        body_.append(piece.data(), std::min(piece.size(), 65536 - std::min<std::size_t>(body_.size(), 65536)));
        co_return;
    }
    asio::awaitable<mw::filter_verdict> end() override {
        auto has = [&](const std::string& word) { return !word.empty() && body_.find(word) != std::string::npos; };
        if (has(w_.thrown)) {
            throw std::runtime_error("verdict-filter was told to throw");
        }
        if (has(w_.refuse)) {
            co_return mw::filter_verdict::refuse(mw::reply::smtp(554, "5.7.1", "refused by verdict-filter"));
        }
        if (has(w_.tempfail)) {
            co_return mw::filter_verdict::refuse(mw::reply::smtp(451, "4.7.1", "greylisted by verdict-filter"));
        }
        if (has(w_.discard)) {
            co_return mw::filter_verdict::drop();
        }
        std::vector<mw::reply> answers;
        for (const auto& r : recipients_) {
            const bool refused =
                std::find(w_.refuse_recipients.begin(), w_.refuse_recipients.end(), r) != w_.refuse_recipients.end();
            answers.push_back(refused ? mw::reply::smtp(550, "5.7.1", "not for " + r) : mw::reply::accept());
        }
        co_return mw::filter_verdict::per_recipient(std::move(answers));
    }

  private:
    const words& w_;
    std::vector<std::string> recipients_;
    std::string body_;
};

class verdict_hook final : public mw::hook {
  public:
    void init(mw::settings& config, mw::host_view&) override {
        w_.refuse = config.string("refuse_word").value_or("");
        w_.tempfail = config.string("tempfail_word").value_or("");
        w_.discard = config.string("discard_word").value_or("");
        w_.thrown = config.string("throw_word").value_or("");
        w_.remove_field = config.string("remove_field").value_or("");
        w_.refuse_recipients = config.strings("refuse_recipients").value_or(std::vector<std::string>{});
    }
    std::unique_ptr<mw::message_filter> filter(const mw::event_context& context) override {
        std::vector<std::string> recipients;
        for (const auto& r : context.envelope->recipients) {
            recipients.push_back(r.address);
        }
        return std::make_unique<verdict_filter>(w_, std::move(recipients));
    }

  private:
    words w_;
};

}  // namespace

MAILWRIGHT_PLUGIN("verdict-filter", "hook", "1.0", verdict_hook)
