// The metrics registry and its text exposition (Prometheus text format 0.0.4): see the header.
#include "mailwright/metrics/registry.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace mailwright::metrics {

namespace {

bool valid_name(std::string_view name, bool colons) {
    if (name.empty()) {
        return false;
    }
    for (std::size_t i = 0; i < name.size(); ++i) {
        const char c = name[i];
        const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colons && c == ':');
        const bool digit = c >= '0' && c <= '9';
        if (!letter && !(digit && i > 0)) {
            return false;
        }
    }
    return true;
}

void check_labels(const std::string& family, const std::vector<std::string>& labels, metric_type type) {
    for (std::size_t i = 0; i < labels.size(); ++i) {
        const auto& label = labels[i];
        if (!valid_name(label, false) || label.starts_with("__")) {
            throw std::invalid_argument(fmt::format("metric {}: '{}' is not a label name", family, label));
        }
        if (type == metric_type::histogram && label == "le") {
            throw std::invalid_argument(fmt::format("metric {}: a histogram's buckets use the label 'le'", family));
        }
        if (std::find(labels.begin(), labels.begin() + static_cast<std::ptrdiff_t>(i), label) !=
            labels.begin() + static_cast<std::ptrdiff_t>(i)) {
            throw std::invalid_argument(fmt::format("metric {}: label '{}' twice", family, label));
        }
    }
}

std::string_view type_name(metric_type type) {
    switch (type) {
        case metric_type::counter:
            return "counter";
        case metric_type::gauge:
            return "gauge";
        case metric_type::histogram:
            return "histogram";
    }
    return "untyped";
}

// A gauge computed at scrape time (registry::add_computed_gauge).
class computed_gauge final : public family_base {
  public:
    computed_gauge(std::string name, std::string help, std::function<double()> value)
        : family_base(std::move(name), std::move(help), {}, metric_type::gauge), value_(std::move(value)) {}

  private:
    void write_samples(std::string& out) const override {
        fmt::format_to(std::back_inserter(out), "{} {}\n", name_, format_value(value_()));
    }

    std::function<double()> value_;
};

}  // namespace

std::string escape_label_value(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (const char c : value) {
        switch (c) {
            case '\\':
                out += "\\\\";
                break;
            case '"':
                out += "\\\"";
                break;
            case '\n':
                out += "\\n";
                break;
            default:
                out += c;
        }
    }
    return out;
}

std::string escape_help(std::string_view help) {
    std::string out;
    out.reserve(help.size());
    for (const char c : help) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

std::string format_value(double value) {
    if (std::isnan(value)) {
        return "NaN";
    }
    if (std::isinf(value)) {
        return value > 0 ? "+Inf" : "-Inf";
    }
    return fmt::format("{}", value);  // the shortest text that reads back as the same double; "3", not "3.0"
}

histogram::histogram(const options& o)
    : bounds_(o.bounds), buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(o.bounds.size() + 1)) {}

void histogram::observe(double value) noexcept {
    // The first bucket whose upper bound is not below the value ("le": less than or equal).
    const auto bucket =
        static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
    buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(value, std::memory_order_relaxed);
}

histogram::snapshot histogram::collect() const {
    snapshot s;
    s.cumulative.reserve(bounds_.size() + 1);
    std::uint64_t running = 0;
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
        running += buckets_[i].load(std::memory_order_relaxed);
        s.cumulative.push_back(running);
    }
    s.sum = sum_.load(std::memory_order_relaxed);
    return s;
}

family_base::family_base(std::string name, std::string help, std::vector<std::string> label_names, metric_type type)
    : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)), type_(type) {}

void family_base::write(std::string& out) const {
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name_, escape_help(help_), name_,
                   type_name(type_));
    write_samples(out);
}

std::string family_base::label_text(const std::vector<std::string>& values) const {
    std::string out;
    for (std::size_t i = 0; i < label_names_.size(); ++i) {
        fmt::format_to(std::back_inserter(out), "{}{}=\"{}\"", i == 0 ? "{" : ",", label_names_[i],
                       escape_label_value(values[i]));
    }
    return out;
}

void family_base::check_arity(std::size_t values) const {
    if (values != label_names_.size()) {
        throw std::invalid_argument(
            fmt::format("metric {}: {} label values for {} labels", name_, values, label_names_.size()));
    }
}

void write_child(std::string& out, std::string_view name, const std::string& labels, const counter& c) {
    fmt::format_to(std::back_inserter(out), "{}{}{} {}\n", name, labels, labels.empty() ? "" : "}", c.value());
}

void write_child(std::string& out, std::string_view name, const std::string& labels, const gauge& g) {
    fmt::format_to(std::back_inserter(out), "{}{}{} {}\n", name, labels, labels.empty() ? "" : "}", g.value());
}

void write_child(std::string& out, std::string_view name, const std::string& labels, const histogram& h) {
    const auto s = h.collect();
    const auto bounds = h.bounds();
    const std::string_view open = labels.empty() ? "{" : ",";
    for (std::size_t i = 0; i <= bounds.size(); ++i) {
        const std::string le = i < bounds.size() ? format_value(bounds[i]) : "+Inf";
        fmt::format_to(std::back_inserter(out), "{}_bucket{}{}le=\"{}\"}} {}\n", name, labels, open, le,
                       s.cumulative[i]);
    }
    const std::string_view close = labels.empty() ? "" : "}";
    fmt::format_to(std::back_inserter(out), "{}_sum{}{} {}\n{}_count{}{} {}\n", name, labels, close,
                   format_value(s.sum), name, labels, close, s.cumulative.back());
}

registry::~registry() = default;

void registry::check_new_name(const std::string& name) const {
    if (!valid_name(name, true)) {
        throw std::invalid_argument(fmt::format("'{}' is not a metric name", name));
    }
    for (const auto& f : families_) {
        if (f->name() == name) {
            throw std::invalid_argument(fmt::format("metric {} is registered twice", name));
        }
    }
}

counter_family& registry::add_counter(std::string name, std::string help, std::vector<std::string> label_names) {
    std::lock_guard lock(mutex_);
    check_new_name(name);
    if (!name.ends_with("_total")) {
        throw std::invalid_argument(fmt::format("counter {}: a counter's name ends in _total", name));
    }
    check_labels(name, label_names, metric_type::counter);
    auto made = std::make_unique<counter_family>(std::move(name), std::move(help), std::move(label_names),
                                                 metric_type::counter, counter::options{});
    auto& ref = *made;
    families_.push_back(std::move(made));
    return ref;
}

gauge_family& registry::add_gauge(std::string name, std::string help, std::vector<std::string> label_names) {
    std::lock_guard lock(mutex_);
    check_new_name(name);
    check_labels(name, label_names, metric_type::gauge);
    auto made = std::make_unique<gauge_family>(std::move(name), std::move(help), std::move(label_names),
                                               metric_type::gauge, gauge::options{});
    auto& ref = *made;
    families_.push_back(std::move(made));
    return ref;
}

histogram_family& registry::add_histogram(std::string name, std::string help, std::vector<std::string> label_names,
                                          std::vector<double> bounds) {
    std::lock_guard lock(mutex_);
    check_new_name(name);
    check_labels(name, label_names, metric_type::histogram);
    for (std::size_t i = 0; i < bounds.size(); ++i) {
        if (!std::isfinite(bounds[i]) || (i > 0 && !(bounds[i - 1] < bounds[i]))) {
            throw std::invalid_argument(fmt::format("histogram {}: bounds must be finite and ascending", name));
        }
    }
    auto made = std::make_unique<histogram_family>(std::move(name), std::move(help), std::move(label_names),
                                                   metric_type::histogram, histogram::options{std::move(bounds)});
    auto& ref = *made;
    families_.push_back(std::move(made));
    return ref;
}

void registry::add_computed_gauge(std::string name, std::string help, std::function<double()> value) {
    std::lock_guard lock(mutex_);
    check_new_name(name);
    families_.push_back(std::make_unique<computed_gauge>(std::move(name), std::move(help), std::move(value)));
}

std::string registry::expose() const {
    std::lock_guard lock(mutex_);
    std::string out;
    for (const auto& f : families_) {
        f->write(out);
    }
    return out;
}

}  // namespace mailwright::metrics
