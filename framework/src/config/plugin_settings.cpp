// [plugin.<name>]: a plugin's table, kept as the file had it and read when the plugin initialises, through
// plugin::settings (the plugin SDK's interface) over the same table reader as the rest of the file.
#include <fmt/format.h>

#include <set>

#include "readers.hpp"

namespace mailwright::config {

namespace {

class toml_plugin_settings final : public plugin_settings {
  public:
    toml_plugin_settings(std::shared_ptr<const plugin_table> table, const std::string& file, const std::string& name,
                         std::vector<error>& sink)
        : table_(std::move(table)),
          ctx_{file, {}},
          reader_(*table_->table, "[plugin." + name + "]", ctx_),
          sink_(sink),
          name_(name) {}

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
        ctx_.add(reader_.key_source(key), fmt::format("'{}' in [plugin.{}]: {}", key, name_, what_would_be_right));
    }
    void finish(bool initialised) override {
        if (initialised) {
            reader_.finish();
        }
        sink_.insert(sink_.end(), ctx_.errors.begin(), ctx_.errors.end());
        ctx_.errors.clear();
    }

  private:
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

    std::shared_ptr<const plugin_table> table_;
    context ctx_;
    table_reader reader_;
    std::vector<error>& sink_;
    std::string name_;
    std::set<std::string, std::less<>> refused_;  // keys already reported
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
