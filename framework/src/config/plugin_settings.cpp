// [plugin.<name>]: a plugin's table, kept as the file had it and read when the plugin initialises, through
// plugin::settings (the plugin SDK's interface) over the same table reader as the rest of the file.
#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <set>

#include "readers.hpp"

namespace mailwright::config {

namespace {

// One table of a plugin's settings: [plugin.<name>] itself, or a table inside it (settings::tables()).
class table_settings : public plugin_settings {
  public:
    table_settings(const toml::table& table, std::string display, context& ctx)
        : ctx_(ctx), reader_(table, display, ctx), display_(std::move(display)) {}

    // Each: the value when the key is present and right; nothing when absent or wrong (reported now).
    std::optional<std::string> string(std::string_view key) override {
        return checked<std::string>(key, [&](auto& v) { return reader_.string(key, v); });
    }
    std::optional<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max) override {
        return checked<std::int64_t>(key, [&](auto& v) { return reader_.integer(key, v, min, max); });
    }
    std::optional<bool> boolean(std::string_view key) override {
        return checked<bool>(key, [&](auto& v) { return reader_.boolean(key, v); });
    }
    std::optional<std::vector<std::string>> strings(std::string_view key) override {
        return checked<std::vector<std::string>>(key, [&](auto& v) { return reader_.strings(key, v); });
    }
    std::optional<std::chrono::milliseconds> duration(std::string_view key) override {
        return checked<std::chrono::milliseconds>(key, [&](auto& v) {
            return reader_.duration(key, v, std::chrono::milliseconds(0), std::chrono::hours(24 * 365));
        });
    }
    void invalid(std::string_view key, std::string_view what_would_be_right) override {
        if (refused_.count(key) != 0) {
            return;  // the getter said what is wrong with this value, where it stands: once is enough
        }
        if (!refused_.empty() && reader_.node_of(key) == nullptr) {
            // A key missing from a table where a getter refused another value: that value is most likely the
            // key meant (`entries = 5` where aliases wants `map` or `entries`), and it has been reported.
            return;
        }
        ctx_.add(reader_.key_source(key), fmt::format("'{}' in {}: {}", key, display_, what_would_be_right));
    }
    std::vector<child> tables(std::string_view key) override {
        std::vector<child> out;
        const toml::node* node = reader_.node_of(key);
        if (node == nullptr) {
            return out;
        }
        reader_.known(key);
        const std::string base = display_.substr(0, display_.size() - 1) + "." + std::string(key);
        if (const auto* array = node->as_array(); array != nullptr && array->is_array_of_tables()) {
            for (std::size_t i = 0; i < array->size(); ++i) {
                const std::string name = std::to_string(i + 1);
                out.push_back({name, add_child(*array->get(i)->as_table(), "[" + base + "]] #" + name)});
            }
            return out;
        }
        const auto* table = node->as_table();
        const bool all_tables = table != nullptr && std::all_of(table->begin(), table->end(), [](const auto& entry) {
                                    return entry.second.is_table();
                                });
        if (!all_tables) {
            ctx_.add(reader_.key_source(key), fmt::format("'{}' in {}: expected tables ([{}.NAME] or [[{}]])", key,
                                                          display_, base.substr(1), base.substr(1)));
            refused_.emplace(key);
            return out;
        }
        for (const auto& [name, value] : *table) {
            out.push_back(
                {std::string(name.str()), add_child(*value.as_table(), base + "." + std::string(name.str()) + "]")});
        }
        return out;
    }
    void finish(bool initialised) override {
        if (initialised) {
            reader_.finish();
        }
        for (auto& c : children_) {
            c->finish(initialised);
        }
    }

  private:
    settings* add_child(const toml::table& table, std::string display) {
        children_.push_back(std::make_unique<table_settings>(table, std::move(display), ctx_));
        return children_.back().get();
    }
    // Runs one of the reader's getters; a key whose value it reported as wrong is remembered, so that the
    // plugin's invalid() for it (it got nothing, as for a missing key) adds no second error.
    template <class T, class Read>
    std::optional<T> checked(std::string_view key, Read read) {
        T value{};
        const auto before = ctx_.errors.size();
        if (read(value)) {
            return value;
        }
        if (ctx_.errors.size() != before) {
            refused_.emplace(key);
        }
        return std::nullopt;
    }

    context& ctx_;
    table_reader reader_;
    std::string display_;                         // "[plugin.forward]", "[plugin.forward.hops.dovecot]"
    std::set<std::string, std::less<>> refused_;  // keys already reported
    std::vector<std::unique_ptr<table_settings>> children_;
};

// [plugin.<name>]: its tables, and where their mistakes go when the plugin has read them.
class toml_plugin_settings final : public plugin_settings {
  public:
    toml_plugin_settings(std::shared_ptr<const plugin_table> table, const std::string& file, const std::string& name,
                         std::vector<error>& sink)
        : table_(std::move(table)), ctx_{file, {}}, root_(*table_->table, "[plugin." + name + "]", ctx_), sink_(sink) {}

    std::optional<std::string> string(std::string_view key) override { return root_.string(key); }
    std::optional<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max) override {
        return root_.integer(key, min, max);
    }
    std::optional<bool> boolean(std::string_view key) override { return root_.boolean(key); }
    std::optional<std::vector<std::string>> strings(std::string_view key) override { return root_.strings(key); }
    std::optional<std::chrono::milliseconds> duration(std::string_view key) override { return root_.duration(key); }
    void invalid(std::string_view key, std::string_view what_would_be_right) override {
        root_.invalid(key, what_would_be_right);
    }
    std::vector<child> tables(std::string_view key) override { return root_.tables(key); }
    void finish(bool initialised) override {
        root_.finish(initialised);
        sink_.insert(sink_.end(), ctx_.errors.begin(), ctx_.errors.end());
        ctx_.errors.clear();
    }

  private:
    std::shared_ptr<const plugin_table> table_;
    context ctx_;
    table_settings root_;
    std::vector<error>& sink_;
};

}  // namespace

std::unique_ptr<plugin_settings> open_plugin_settings(const daemon_config& config, const plugin_section& section,
                                                      std::vector<error>& errors) {
    static const auto no_table = std::make_shared<const toml::table>();
    static const auto empty = std::make_shared<const plugin_table>(plugin_table{no_table, no_table.get()});
    return std::make_unique<toml_plugin_settings>(section.table ? section.table : empty, config.file, section.name,
                                                  errors);
}

}  // namespace mailwright::config
