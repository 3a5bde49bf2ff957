// The access plugin's rules file on disk: read whole at start (a bad rule stops the daemon, naming
// file:line), then looked at again at most once a second and re-read when it changed (io::watched_file: a
// new version with a bad rule is logged with its file:line and the previous rules are kept; a rule set is
// used whole or not at all, never half).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "mailwright/io/watched_file.hpp"
#include "rules.hpp"

namespace mailwright::access {

// Reads and parses the file. Throws std::runtime_error "path:line: what is wrong" (or "path: why it cannot be
// read").
std::shared_ptr<const rule_set> load_rules(const std::string& path);

class rules_source : public io::watched_file<rule_set> {
  public:
    // Reads the file; throws std::runtime_error naming file:line when it cannot be used.
    explicit rules_source(std::string path, std::chrono::milliseconds interval = std::chrono::seconds(1))
        : watched_file(std::move(path), "access", load_rules, interval,
                       [](const rule_set& r) { return std::to_string(r.size()) + " rules"; }) {}

    std::shared_ptr<const rule_set> rules() const { return current(); }
};

}  // namespace mailwright::access
