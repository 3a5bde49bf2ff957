// The aliases map's sources (map_source.hpp): the file read within bounds, then the inline entries.
#include "map_source.hpp"

#include <stdexcept>

namespace mailwright::aliases {

std::shared_ptr<const alias_map> load_map(const map_recipe& recipe) {
    auto map = std::make_shared<alias_map>(recipe.settings);
    if (!recipe.path.empty()) {
        const auto text = io::read_bounded(recipe.path, max_map_size, "the alias map");
        if (auto wrong = add_text(*map, text, recipe.path)) {
            throw std::runtime_error(recipe.path + ":" + std::to_string(wrong->line) + ": " + wrong->what);
        }
    }
    for (std::size_t i = 0; i < recipe.entries.size(); ++i) {
        const auto name = "entries[" + std::to_string(i) + "]";
        if (auto wrong = map->add(recipe.entries[i], name)) {
            throw std::runtime_error(name + ": " + *wrong);
        }
    }
    return map;
}

}  // namespace mailwright::aliases
