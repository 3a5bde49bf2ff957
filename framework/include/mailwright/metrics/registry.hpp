// A small metrics registry: counters, gauges and histograms in families with fixed label names, and their
// text exposition in the Prometheus text format, version 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/).
//
// Theory of operation. Families are registered once, at start (registry::add_*), with their name, help text
// and label names; a family's children (one per set of label values) are made on first use and never
// removed, so a label value must come from a bounded set the program knows (a listener's name from the
// configuration, a mechanism from a fixed list), never from what a client sends. Updating a child is one
// relaxed atomic operation; finding it is a walk over the family's list of children, published with
// release/acquire and never locked, so the hot path takes no lock. Only making a child (once per label set)
// and a scrape's walk over the families take the registry's mutexes.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mailwright::metrics {

class counter {
  public:
    struct options {};
    counter() = default;
    explicit counter(const options&) {}

    void inc(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
    std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

  private:
    std::atomic<std::uint64_t> value_{0};
};

class gauge {
  public:
    struct options {};
    gauge() = default;
    explicit gauge(const options&) {}

    void inc(std::int64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
    void dec(std::int64_t n = 1) noexcept { value_.fetch_sub(n, std::memory_order_relaxed); }
    void set(std::int64_t v) noexcept { value_.store(v, std::memory_order_relaxed); }
    std::int64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

  private:
    std::atomic<std::int64_t> value_{0};
};

class histogram {
  public:
    // The upper bounds of the buckets, ascending; the +Inf bucket is implied.
    struct options {
        std::vector<double> bounds;
    };
    explicit histogram(const options& o);

    void observe(double value) noexcept;

    struct snapshot {
        std::vector<std::uint64_t> cumulative;  // per bound, then +Inf (which is the count)
        double sum = 0;
    };
    // Buckets are counted one by one and added up here, so +Inf always equals the count and no bucket is
    // ever below the one before it, even when observations race with the scrape.
    snapshot collect() const;
    std::span<const double> bounds() const noexcept { return bounds_; }

  private:
    std::vector<double> bounds_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1
    std::atomic<double> sum_{0};
};

enum class metric_type { counter, gauge, histogram };

class family_base {
  public:
    family_base(std::string name, std::string help, std::vector<std::string> label_names, metric_type type);
    family_base(const family_base&) = delete;
    family_base& operator=(const family_base&) = delete;
    virtual ~family_base() = default;

    const std::string& name() const noexcept { return name_; }
    // "# HELP", "# TYPE" and every child's samples.
    void write(std::string& out) const;

  protected:
    // The samples of every child, label sets in order.
    virtual void write_samples(std::string& out) const = 0;
    // `{a="x",b="y"` for these values (no closing brace: a histogram appends `le`); empty without labels.
    std::string label_text(const std::vector<std::string>& values) const;
    void check_arity(std::size_t values) const;

    std::string name_;
    std::string help_;
    std::vector<std::string> label_names_;
    metric_type type_;
};

template <class Metric>
class family final : public family_base {
  public:
    family(std::string name, std::string help, std::vector<std::string> label_names, metric_type type,
           typename Metric::options options)
        : family_base(std::move(name), std::move(help), std::move(label_names), type), options_(std::move(options)) {}
    ~family() override {
        for (node* n = head_.load(std::memory_order_acquire); n != nullptr;) {
            delete std::exchange(n, n->next);
        }
    }

    // The child for these label values, one per label name, made on first use.
    Metric& with(std::initializer_list<std::string_view> values) {
        return with(std::span(values.begin(), values.size()));
    }
    Metric& with(std::span<const std::string_view> values) {
        if (node* n = find(values)) {
            return n->metric;
        }
        return make(values);
    }

  private:
    struct node {
        node(std::vector<std::string> v, const typename Metric::options& o) : values(std::move(v)), metric(o) {}
        std::vector<std::string> values;
        Metric metric;
        node* next = nullptr;
    };

    node* find(std::span<const std::string_view> values) const noexcept {
        for (node* n = head_.load(std::memory_order_acquire); n != nullptr; n = n->next) {
            if (std::equal(n->values.begin(), n->values.end(), values.begin(), values.end())) {
                return n;
            }
        }
        return nullptr;
    }

    Metric& make(std::span<const std::string_view> values) {
        check_arity(values.size());
        std::lock_guard lock(make_mutex_);
        if (node* n = find(values)) {
            return n->metric;  // another thread made it while this one waited
        }
        auto made = std::make_unique<node>(std::vector<std::string>(values.begin(), values.end()), options_);
        made->next = head_.load(std::memory_order_relaxed);
        head_.store(made.get(), std::memory_order_release);
        return made.release()->metric;
    }

    void write_samples(std::string& out) const override;

    typename Metric::options options_;
    std::atomic<node*> head_{nullptr};
    std::mutex make_mutex_;
};

// One sample line per child, for each metric type (registry.cpp).
void write_child(std::string& out, std::string_view name, const std::string& labels, const counter& c);
void write_child(std::string& out, std::string_view name, const std::string& labels, const gauge& g);
void write_child(std::string& out, std::string_view name, const std::string& labels, const histogram& h);

// The children sorted by their label values, so that a scrape reads the same from one time to the next.
template <class Metric>
void family<Metric>::write_samples(std::string& out) const {
    std::vector<const node*> children;
    for (const node* n = head_.load(std::memory_order_acquire); n != nullptr; n = n->next) {
        children.push_back(n);
    }
    std::sort(children.begin(), children.end(), [](const node* a, const node* b) { return a->values < b->values; });
    for (const node* n : children) {
        write_child(out, name_, label_text(n->values), n->metric);
    }
}

using counter_family = family<counter>;
using gauge_family = family<gauge>;
using histogram_family = family<histogram>;

class registry {
  public:
    registry() = default;
    registry(const registry&) = delete;
    registry& operator=(const registry&) = delete;
    ~registry();

    // Registration checks what a scraper would refuse and throws std::invalid_argument: a name that is not
    // [a-zA-Z_:][a-zA-Z0-9_:]* or already registered, a label name that is not [a-zA-Z_][a-zA-Z0-9_]* or starts
    // with "__" (or is "le" on a histogram), a counter whose name does not end in "_total", histogram bounds
    // that are not strictly ascending and finite.
    counter_family& add_counter(std::string name, std::string help, std::vector<std::string> label_names = {});
    gauge_family& add_gauge(std::string name, std::string help, std::vector<std::string> label_names = {});
    histogram_family& add_histogram(std::string name, std::string help, std::vector<std::string> label_names,
                                    std::vector<double> bounds);
    // A gauge without labels whose value is computed when it is scraped (a queue's length, say). `value` is
    // called on the scraping thread and must be safe to call from any thread.
    void add_computed_gauge(std::string name, std::string help, std::function<double()> value);

    // Every family, in the order they were registered, in the text format 0.0.4.
    std::string expose() const;

  private:
    void check_new_name(const std::string& name) const;  // with mutex_ held

    mutable std::mutex mutex_;
    std::vector<std::unique_ptr<family_base>> families_;
};

// Label values and help texts as the text format escapes them: `\` `"` and a line end in a label value;
// `\` and a line end in help.
std::string escape_label_value(std::string_view value);
std::string escape_help(std::string_view help);
// A sample value: integers without a fraction, "+Inf", "-Inf", "NaN".
std::string format_value(double value);

}  // namespace mailwright::metrics
