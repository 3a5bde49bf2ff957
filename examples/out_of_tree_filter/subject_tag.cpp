// subject-tag: a message filter in one file, built against the installed SDK (docs/plugins.md, "Writing a
// message filter"). List it in [plugins] hooks and configure it:
//   [plugin.subject-tag]
//   tag = "[ext]"         # written before each message's Subject
//   refuse = "lottery"    # optional: a message whose body contains this is refused
// The host makes one tagger per message (hook::filter()), so what a tagger keeps is that message's own.
#include <algorithm>
#include <asio/awaitable.hpp>
#include <mailwright/plugin/hook.hpp>
#include <memory>
#include <span>
#include <string>
#include <utility>

namespace {

using namespace mailwright;

class tagger final : public plugin::message_filter {
  public:
    tagger(std::string tag, std::string word) : tag_(std::move(tag)), word_(std::move(word)) {}

    plugin::field_action header(const imf::header_field& field) override {
        if (!field.is("Subject") || seen_) {
            return plugin::field_action::keep;
        }
        seen_ = true;
        // Unfolded, and written again on one line: a real filter would fold one longer than RFC 5322's 998 octets.
        subject_ = field.value;
        return plugin::field_action::remove;
    }

    asio::awaitable<plugin::reply> headers_done(plugin::header_changes& changes) override {
        changes.append.push_back("Subject: " + tag_ + (subject_.empty() ? "" : " " + subject_));
        co_return plugin::reply::accept();
    }

    // Bounded memory: only the last word_.size() - 1 octets are kept, for a word split across two pieces.
    asio::awaitable<void> body(std::span<const char> piece) override {
        if (!word_.empty() && !found_) {
            window_.append(piece.data(), piece.size());
            found_ = window_.find(word_) != std::string::npos;
            window_.erase(0, window_.size() - std::min(window_.size(), word_.size() - 1));
        }
        co_return;
    }

    asio::awaitable<plugin::filter_verdict> end() override {
        // A refusal here is what the client hears after its final dot; nothing is stored.
        co_return found_ ? plugin::filter_verdict::refuse(plugin::reply::smtp(554, "5.7.1", "message refused"))
                         : plugin::filter_verdict::accept();
    }

  private:
    std::string tag_, word_, subject_, window_;
    bool seen_ = false, found_ = false;
};

class subject_tag final : public plugin::hook {
  public:
    void init(plugin::settings& config, plugin::host_view&) override {
        tag_ = config.string("tag").value_or("[tagged]");
        word_ = config.string("refuse").value_or("");
    }
    std::unique_ptr<plugin::message_filter> filter(const plugin::event_context&) override {
        return std::make_unique<tagger>(tag_, word_);
    }

  private:
    std::string tag_, word_;
};

}  // namespace

MAILWRIGHT_PLUGIN("subject-tag", "hook", "1.0", subject_tag)
