// One TOML table read key by key: type and range checks with the message a user needs, and the keys nobody
// asked for reported as unknown ("did you mean").
#include "table_reader.hpp"

#include <fmt/format.h>

#include <fmt/ranges.h>
#include <algorithm>

namespace mailwright::config {

void context::add(const toml::source_region& where, std::string message) {
    errors.push_back({file, where.begin.line, where.begin.column, std::move(message)});
}

namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) {
        row[j] = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

// A value as a message shows it: "\"two\"", "70000", "a table".
std::string describe(const toml::node& node) {
    if (const auto s = node.value<std::string>(); s && node.is_string()) {
        return fmt::format("\"{}\"", *s);
    }
    if (node.is_integer()) {
        return std::to_string(*node.value<std::int64_t>());
    }
    switch (node.type()) {
        case toml::node_type::table:
            return "a table";
        case toml::node_type::array:
            return "an array";
        case toml::node_type::boolean:
            return "a boolean";
        case toml::node_type::floating_point:
            return "a floating-point number";
        default:
            return "a date or time";
    }
}

}  // namespace

table_reader::table_reader(const toml::table& table, std::string name, context& ctx)
    : table_reader(table, std::move(name), ctx, table.source()) {}

table_reader::table_reader(const toml::table& table, std::string name, context& ctx, const toml::source_region& home)
    : table_(table), name_(std::move(name)), ctx_(ctx), home_(home) {}

bool table_reader::path(std::string_view key, std::string& out) {
    if (!string(key, out)) {
        return false;
    }
    if (ctx_.absolute_paths && !out.empty() && out.front() != '/') {
        // A service's working directory is not where its file is (systemd starts it in /): "var" would be /var.
        ctx_.add(where(key, *table_.get(key)),
                 fmt::format("'{}' in {} must be an absolute path in an installed configuration, not \"{}\": a "
                             "relative path would be taken from the daemon's working directory (/ under systemd)",
                             key, name_, out));
    }
    return true;
}

std::optional<std::int64_t> table_reader::get_integer(std::string_view key, std::int64_t min, std::int64_t max) {
    const toml::node* node = take(key);
    if (node == nullptr) {
        return std::nullopt;
    }
    // is_integer() first: toml++ converts a float to an integer on request, which is undefined behaviour
    // for one beyond the range (found by fuzz_config: port = 9e93).
    const auto value = node->is_integer() ? node->value<std::int64_t>() : std::nullopt;
    if (!value || *value < min || *value > max) {
        ctx_.add(where(key, *node), fmt::format("'{}' in {} must be an integer from {} to {}, not {}", key, name_, min,
                                                max, describe(*node)));
        return std::nullopt;
    }
    return value;
}

std::optional<std::string> table_reader::get_string(std::string_view key) {
    const toml::node* node = take(key);
    if (node == nullptr) {
        return std::nullopt;
    }
    if (!node->is_string()) {
        ctx_.add(where(key, *node), fmt::format("'{}' in {} must be a string, not {}", key, name_, describe(*node)));
        return std::nullopt;
    }
    return node->value<std::string>();
}

std::optional<std::size_t> table_reader::get_choice(std::string_view key, std::span<const std::string_view> allowed) {
    const toml::node* node = take(key);
    if (node == nullptr) {
        return std::nullopt;
    }
    const auto value = node->value<std::string>();
    const auto found = value ? std::find(allowed.begin(), allowed.end(), *value) : allowed.end();
    if (!node->is_string() || found == allowed.end()) {
        ctx_.add(where(key, *node), fmt::format("'{}' in {} must be one of \"{}\", not {}", key, name_,
                                                fmt::join(allowed, "\", \""), describe(*node)));
        return std::nullopt;
    }
    return static_cast<std::size_t>(found - allowed.begin());
}

std::optional<std::chrono::milliseconds> table_reader::get_duration(std::string_view key, std::chrono::milliseconds min,
                                                                    std::chrono::milliseconds max) {
    const toml::node* node = take(key);
    if (node == nullptr) {
        return std::nullopt;
    }
    std::optional<std::chrono::milliseconds> value;
    if (node->is_integer() && *node->value<std::int64_t>() >= 0) {
        value = std::chrono::seconds(*node->value<std::int64_t>());
    } else if (node->is_string()) {
        value = parse_duration(*node->value<std::string>());
    }
    if (!value || *value < min || *value > max) {
        ctx_.add(where(key, *node), fmt::format("'{}' in {} must be a duration from {} ms to {} ms such as \"30s\", "
                                                "\"5m\" or \"250ms\", not {}",
                                                key, name_, min.count(), max.count(), describe(*node)));
        return std::nullopt;
    }
    return value;
}

std::optional<bool> table_reader::get_boolean(std::string_view key) {
    const toml::node* node = take(key);
    if (node == nullptr) {
        return std::nullopt;
    }
    if (!node->is_boolean()) {
        ctx_.add(where(key, *node),
                 fmt::format("'{}' in {} must be true or false, not {}", key, name_, describe(*node)));
        return std::nullopt;
    }
    return node->value<bool>();
}

std::optional<std::vector<std::string>> table_reader::get_strings(std::string_view key) {
    const toml::node* node = take(key);
    if (node == nullptr) {
        return std::nullopt;
    }
    std::vector<std::string> values;
    if (node->is_string()) {
        values.push_back(*node->value<std::string>());
    } else if (const auto* array = node->as_array()) {
        for (const auto& element : *array) {
            if (!element.is_string()) {
                ctx_.add(element.source(),
                         fmt::format("'{}' in {} must list strings, not {}", key, name_, describe(element)));
                return std::nullopt;
            }
            values.push_back(*element.value<std::string>());
        }
    } else {
        ctx_.add(where(key, *node), fmt::format("'{}' in {} must be a string or an array of strings, not {}", key,
                                                name_, describe(*node)));
        return std::nullopt;
    }
    return values;
}

void table_reader::invalid(std::string_view key, std::string_view what_would_be_right) {
    ctx_.add(key_source(key), fmt::format("'{}' in {} {}", key, name_, what_would_be_right));
}

toml::source_region table_reader::where(std::string_view key, const toml::node& value) const {
    return value.source().begin.line != 0 ? value.source() : key_source(key);
}

toml::source_region table_reader::key_source(std::string_view key) const {
    for (const auto& [k, v] : table_) {
        if (k.str() == key) {
            return k.source();
        }
    }
    return home_;
}

void table_reader::finish() {
    for (const auto& [key, node] : table_) {
        if (seen_.count(std::string(key.str())) != 0) {
            continue;
        }
        std::string_view best;
        std::size_t best_distance = 3;  // suggest only close misspellings
        for (const auto& known : seen_all_) {
            const auto d = edit_distance(key.str(), known);
            if (d < best_distance) {
                best_distance = d;
                best = known;
            }
        }
        std::string hint = best.empty() ? fmt::format("known keys: {}", fmt::join(seen_all_, ", "))
                                        : fmt::format("did you mean '{}'?", best);
        ctx_.add(key.source(), fmt::format("unknown key '{}' in {}; {}", key.str(), name_, hint));
    }
}

const toml::node* table_reader::take(std::string_view key) {
    seen_all_.emplace_back(key);
    const toml::node* node = table_.get(key);
    if (node != nullptr) {
        seen_.emplace(key);
    }
    return node;
}

}  // namespace mailwright::config
