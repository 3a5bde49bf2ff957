// The header field parser (imf/header.hpp) and the message pipeline's header handling
// (pipeline/message_pipeline.hpp), on any octets cut at any points:
//  - field_end() walks the block forward and its fields put together are the block, octet for octet;
//  - a field parsed as well formed has a name of RFC 5322 ftext followed by the colon, and a value with no
//    line end and no white space at either end;
//  - through the pipeline, with a filter that removes the fields named X-Remove, prepends one and appends one:
//    what the store gets does not depend on how the message was cut into pieces; the filter sees the same
//    fields either way; the prepended field comes first after the trace; no X-Remove field of the header
//    block reaches the store; a message is refused (550, nothing stored) only when it starts with white
//    space.
//
// Input (FuzzedDataProvider): the cut points come from the end of the input, the message from the front.
#include <fuzzer/FuzzedDataProvider.h>
#include <asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "mailwright/imf/header.hpp"
#include "mailwright/pipeline/message_pipeline.hpp"

namespace {

using namespace mailwright;

void check_parser(std::string_view block) {
    std::string joined;
    for (std::size_t at = 0; at < block.size();) {
        const std::size_t end = imf::field_end(block, at);
        FUZZ_CHECK(end > at && end <= block.size(), "field_end moves forward within the block");
        const auto field = imf::parse_field(block.substr(at, end - at));
        joined.append(field.raw);
        if (!field.malformed) {
            FUZZ_CHECK(
                !field.name.empty() && field.raw.substr(0, field.name.size() + 1) == std::string(field.name) + ":",
                "a well-formed field starts with its name and the colon");
            for (const char c : field.name) {
                FUZZ_CHECK(c > 32 && c < 127 && c != ':', "a field name is printable ASCII without the colon");
            }
            FUZZ_CHECK(field.value.find_first_of("\r\n") == std::string::npos, "the value is unfolded");
            FUZZ_CHECK(field.value.empty() || (field.value.front() != ' ' && field.value.back() != ' ' &&
                                               field.value.front() != '\t' && field.value.back() != '\t'),
                       "the value is trimmed");
        }
        at = end;
    }
    FUZZ_CHECK(joined == block, "the fields put together are the block");
}

struct seen {
    std::vector<std::string> fields;
    std::string body;
};

class editing_filter final : public plugin::message_filter {
  public:
    explicit editing_filter(seen& s) : seen_(s) {}
    plugin::field_action header(const imf::header_field& field) override {
        seen_.fields.emplace_back(field.raw);
        return field.is("X-Remove") ? plugin::field_action::remove : plugin::field_action::keep;
    }
    asio::awaitable<plugin::reply> headers_done(plugin::header_changes& changes) override {
        changes.prepend.push_back("X-Added: 1");
        changes.append.push_back("X-Tail: 2");
        co_return plugin::reply::accept();
    }
    asio::awaitable<void> body(std::span<const char> piece) override {
        seen_.body.append(piece.data(), piece.size());
        co_return;
    }

  private:
    seen& seen_;
};

class keeping_delivery final : public plugin::delivery {
  public:
    explicit keeping_delivery(std::string& out) : out_(out) {}
    asio::awaitable<bool> write(std::span<const char> piece) override {
        out_.append(piece.data(), piece.size());
        co_return true;
    }
    asio::awaitable<plugin::delivery_result> commit(const std::vector<bool>& wanted) override {
        co_return plugin::delivery_result::all(wanted.size(), plugin::reply::accept());
    }

  private:
    std::string& out_;
};

class keeping_store final : public plugin::mailstore {
  public:
    std::string text;
    void init(plugin::settings&, plugin::host_view&) override {}
    asio::awaitable<plugin::open_result> open(std::string_view) override { co_return plugin::open_result{}; }
    asio::awaitable<std::unique_ptr<plugin::delivery>> begin(std::span<const std::string>,
                                                             const plugin::envelope*) override {
        co_return std::make_unique<keeping_delivery>(text);
    }
};

constexpr std::string_view trace = "Received: by fuzz\r\n";

asio::awaitable<void> push(std::string_view message, const std::vector<std::size_t>& cuts, keeping_store& store,
                           seen& s) {
    const std::vector<std::string> users{"u"};
    plugin::envelope envelope;
    envelope.recipients.push_back({"u@example.org", {"u"}, {}, {}});
    pipeline::filter_list filters;
    filters.push_back({"editing", std::make_unique<editing_filter>(s)});
    pipeline::message_pipeline p(store, users, &envelope, std::move(filters));
    co_await p.begin(trace);
    std::size_t at = 0;
    for (const std::size_t cut : cuts) {
        p.buffer().append(message.substr(at, cut - at));
        at = cut;
        if (p.full()) {
            co_await p.flush();
        }
    }
    p.buffer().append(message.substr(at));
    const auto answers = co_await p.finish();
    FUZZ_CHECK(answers.size() == 1, "one answer for the one recipient");
    const bool folded_start = !message.empty() && (message.front() == ' ' || message.front() == '\t');
    // Refused only for what the pipeline refuses: a first line that would fold into the trace.
    FUZZ_CHECK(answers[0].ok() != folded_start, "accepted unless the message starts with white space");
    FUZZ_CHECK(answers[0].ok() || (answers[0].code == 550 && store.text.empty()),
               "a refused message: 550, and nothing stored");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    mailwright::fuzz::quiet_logging();
    FuzzedDataProvider provider(data, size);
    const std::size_t pieces = provider.ConsumeIntegralInRange<std::size_t>(0, 16);
    std::vector<std::size_t> offsets;
    for (std::size_t i = 0; i < pieces; ++i) {
        offsets.push_back(provider.ConsumeIntegral<std::uint16_t>());
    }
    const std::string message = provider.ConsumeRemainingBytesAsString();
    std::vector<std::size_t> cuts;
    for (const std::size_t o : offsets) {
        cuts.push_back(message.empty() ? 0 : o % (message.size() + 1));
    }
    std::sort(cuts.begin(), cuts.end());

    check_parser(message);

    keeping_store whole_store;
    keeping_store cut_store;
    seen whole;
    seen cut;
    mailwright::fuzz::run(push(message, {}, whole_store, whole));
    mailwright::fuzz::run(push(message, cuts, cut_store, cut));
    FUZZ_CHECK(whole_store.text == cut_store.text, "the stored message does not depend on the pieces");
    FUZZ_CHECK(whole.fields == cut.fields && whole.body == cut.body, "the filter sees the same either way");
    if (whole_store.text.empty()) {
        return 0;  // refused, as checked above
    }
    const std::string_view stored = whole_store.text;
    FUZZ_CHECK(stored.substr(0, trace.size()) == trace, "the trace comes first");
    FUZZ_CHECK(stored.substr(trace.size(), 12) == "X-Added: 1\r\n", "the prepended field follows the trace");
    for (std::size_t at = trace.size(); at < stored.size();) {
        const std::size_t end = imf::field_end(stored, at);
        const auto line = stored.substr(at, end - at);
        if (imf::is_block_end(line)) {
            break;  // the body: not the filter's header block
        }
        FUZZ_CHECK(!imf::parse_field(line).is("X-Remove") || message.size() >= pipeline::max_header_block,
                   "a removed field is not stored");
        at = end;
    }
    return 0;
}
