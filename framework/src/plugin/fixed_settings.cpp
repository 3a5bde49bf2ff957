// fixed_settings: plugin settings given in code.
#include "mailwright/plugin/fixed_settings.hpp"

namespace mailwright::plugin {

std::optional<std::int64_t> fixed_settings::integer(std::string_view key, std::int64_t min, std::int64_t max) {
    auto v = get<std::int64_t>(key);
    if (v && (*v < min || *v > max)) {
        refuse(key, "is out of range");
        return std::nullopt;
    }
    return v;
}

std::optional<std::vector<std::string>> fixed_settings::strings(std::string_view key) {
    const auto it = values_.find(std::string(key));
    if (it != values_.end()) {
        if (const auto* one = std::get_if<std::string>(&it->second)) {
            return std::vector<std::string>{*one};
        }
    }
    return get<std::vector<std::string>>(key);
}

void fixed_settings::invalid(std::string_view key, std::string_view what_would_be_right) {
    if (refused_.count(key) == 0) {
        problems_.push_back(std::string(key) + ": " + std::string(what_would_be_right));
    }
}

void fixed_settings::refuse(std::string_view key, std::string_view what) {
    problems_.push_back(std::string(key) + ": " + std::string(what));
    refused_.emplace(key);
}

}  // namespace mailwright::plugin
