// [plugin.<name>]: a plugin's table, kept as the file had it and read when the plugin initialises, through
// plugin::settings (the plugin SDK's interface) over the same table reader as the rest of the file.
#include <fmt/format.h>

#include "readers.hpp"

namespace mailwright::config {

namespace {

class toml_plugin_settings final : public plugin_settings {
  public:
    toml_plugin_settings(std::shared_ptr<const plugin_table> table, const std::string& file, const std::string& name,
                         std::vector<error>& sink)
        : table_(std::move(table)),
          ctx_{file, {}},
          reader_(table_->table, "[plugin." + name + "]", ctx_),
          sink_(sink),
          name_(name) {}

    // Each: the value when the key is present and right; nothing when absent or wrong (reported at finish()).
    std::optional<std::string> string(std::string_view key) override {
        std::string value;
        return reader_.string(key, value) ? std::optional(std::move(value)) : std::nullopt;
    }
    std::optional<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max) override {
        std::int64_t value = 0;
        return reader_.integer(key, value, min, max) ? std::optional(value) : std::nullopt;
    }
    std::optional<bool> boolean(std::string_view key) override {
        bool value = false;
        return reader_.boolean(key, value) ? std::optional(value) : std::nullopt;
    }
    std::optional<std::vector<std::string>> strings(std::string_view key) override {
        std::vector<std::string> value;
        return reader_.strings(key, value) ? std::optional(std::move(value)) : std::nullopt;
    }
    std::optional<std::chrono::milliseconds> duration(std::string_view key) override {
        std::chrono::milliseconds value{0};
        return reader_.duration(key, value, std::chrono::milliseconds(0), std::chrono::hours(24 * 365))
                   ? std::optional(value)
                   : std::nullopt;
    }
    void invalid(std::string_view key, std::string_view what_would_be_right) override {
        ctx_.add(reader_.key_source(key), fmt::format("'{}' in [plugin.{}]: {}", key, name_, what_would_be_right));
    }
    void finish() override {
        reader_.finish();
        sink_.insert(sink_.end(), ctx_.errors.begin(), ctx_.errors.end());
        ctx_.errors.clear();
    }

  private:
    std::shared_ptr<const plugin_table> table_;
    context ctx_;
    table_reader reader_;
    std::vector<error>& sink_;
    std::string name_;
};

}  // namespace

std::unique_ptr<plugin_settings> open_plugin_settings(const daemon_config& config, const plugin_section& section,
                                                      std::vector<error>& errors) {
    static const auto empty = std::make_shared<const plugin_table>();
    return std::make_unique<toml_plugin_settings>(section.table ? section.table : empty, config.file, section.name,
                                                  errors);
}

}  // namespace mailwright::config
