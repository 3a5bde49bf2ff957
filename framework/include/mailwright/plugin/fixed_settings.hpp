// Settings given in code rather than read from a TOML file: how a program that embeds Mailwright configures
// the plugins it links in. Reading a key the map does not hold gives nothing; a value of another type, or
// one the plugin reports invalid, is recorded in problems(), each mistake once (settings' contract: invalid()
// adds nothing for a key a getter has already refused).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "mailwright/plugin/plugin.hpp"

namespace mailwright::plugin {

class fixed_settings final : public settings {
  public:
    using value = std::variant<std::string, std::int64_t, bool, std::vector<std::string>, std::chrono::milliseconds>;

    fixed_settings() = default;
    fixed_settings(std::initializer_list<std::pair<const std::string, value>> values) : values_(values) {}

    std::optional<std::string> string(std::string_view key) override { return get<std::string>(key); }
    std::optional<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max) override;
    std::optional<bool> boolean(std::string_view key) override { return get<bool>(key); }
    std::optional<std::vector<std::string>> strings(std::string_view key) override;
    std::optional<std::chrono::milliseconds> duration(std::string_view key) override {
        return get<std::chrono::milliseconds>(key);
    }
    void invalid(std::string_view key, std::string_view what_would_be_right) override;

    const std::vector<std::string>& problems() const noexcept { return problems_; }

  private:
    template <class T>
    std::optional<T> get(std::string_view key) {
        const auto it = values_.find(std::string(key));
        if (it == values_.end()) {
            return std::nullopt;
        }
        if (const T* v = std::get_if<T>(&it->second)) {
            return *v;
        }
        refuse(key, "has a value of another type");
        return std::nullopt;
    }
    void refuse(std::string_view key, std::string_view what);

    std::map<std::string, value> values_;
    std::vector<std::string> problems_;
    std::set<std::string, std::less<>> refused_;
};

}  // namespace mailwright::plugin
