// The access plugin's rules file (rules_file.hpp): read within bounds and parsed.
#include "rules_file.hpp"

#include <stdexcept>

namespace mailwright::access {

std::shared_ptr<const rule_set> load_rules(const std::string& path) {
    const std::string text = io::read_bounded(path, max_file_size, "the rules file");
    auto parsed = parse_rules(text);
    if (!parsed.rules) {
        throw std::runtime_error(path + ":" + std::to_string(parsed.line) + ": " + parsed.error);
    }
    return std::move(parsed.rules);
}

}  // namespace mailwright::access
