// The aliases map as the plugin serves it: the file (if any) and the inline entries of the configuration,
// read whole at start (a bad line stops the daemon, naming file:line), then the file is looked at again at
// most once a second and the map rebuilt when it changed. A new version with a bad line is logged with its
// file:line and the previous map is kept: a map is used whole or not at all, never half (io::watched_file).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "alias_map.hpp"
#include "mailwright/io/watched_file.hpp"

namespace mailwright::aliases {

// What a map is made of.
struct map_recipe {
    options settings;
    std::string path;                  // empty: no file
    std::vector<std::string> entries;  // inline entries, each one logical line, after the file's
};

// Builds the map. Throws std::runtime_error "path:line: what is wrong", "entries[N]: ..." or "path: why it
// cannot be read".
std::shared_ptr<const alias_map> load_map(const map_recipe& recipe);

class map_source : public io::watched_file<alias_map> {
  public:
    // Builds the map; throws std::runtime_error naming file:line when it cannot be used.
    explicit map_source(const map_recipe& recipe, std::chrono::milliseconds interval = std::chrono::seconds(1))
        : watched_file(
              recipe.path, "aliases", [recipe](const std::string&) { return load_map(recipe); }, interval,
              [](const alias_map& m) { return std::to_string(m.size()) + " entries"; }) {}

    std::shared_ptr<const alias_map> map() const { return current(); }
};

}  // namespace mailwright::aliases
