// The aliases map's sources (map_source.hpp): reading the file within bounds, and re-reading it on change.
#include "map_source.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace mailwright::aliases {

namespace {

std::string too_big(const std::string& path) {
    return path + ": the map is over " + std::to_string(max_map_size) + " octets";
}

std::string read_file(const std::string& path, std::optional<file_identity>& identity) {
    identity = identity_of(path);
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
        throw std::runtime_error(path + ": the alias map is not a regular file");
    }
    std::ifstream in(path, std::ios::binary);
    if (!identity || !in) {
        throw std::runtime_error(path + ": cannot read the alias map: " + std::strerror(errno));
    }
    if (static_cast<std::uint64_t>(identity->size) > max_map_size) {
        throw std::runtime_error(too_big(path));
    }
    // Read in pieces, stopping past the limit: the file may have grown since stat().
    std::string text;
    std::string piece(64 * 1024, '\0');
    while (in.read(piece.data(), static_cast<std::streamsize>(piece.size())) || in.gcount() > 0) {
        text.append(piece.data(), static_cast<std::size_t>(in.gcount()));
        if (text.size() > max_map_size) {
            throw std::runtime_error(too_big(path));
        }
    }
    return text;
}

}  // namespace

std::optional<file_identity> identity_of(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        return std::nullopt;
    }
    return file_identity{st.st_dev, st.st_ino, st.st_size,
                         static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

std::shared_ptr<const alias_map> load_map(const map_recipe& recipe, std::optional<file_identity>& identity) {
    auto map = std::make_shared<alias_map>(recipe.settings);
    if (!recipe.path.empty()) {
        const auto text = read_file(recipe.path, identity);
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

map_source::map_source(map_recipe recipe, std::chrono::milliseconds interval)
    : recipe_(std::move(recipe)), interval_(interval) {
    current_ = load_map(recipe_, seen_);
    next_look_.store((std::chrono::steady_clock::now() + interval_).time_since_epoch().count());
}

bool map_source::due(std::chrono::steady_clock::time_point now) noexcept {
    if (recipe_.path.empty()) {
        return false;  // inline entries only: nothing can change
    }
    auto next = next_look_.load(std::memory_order_relaxed);
    const auto ticks = now.time_since_epoch().count();
    // Whoever moves next_look_ on is the one caller that looks; the others see it moved and carry on.
    return ticks >= next && next_look_.compare_exchange_strong(next, (now + interval_).time_since_epoch().count());
}

bool map_source::refresh() noexcept {
    try {
        std::lock_guard lock(refreshing_);
        const auto identity = identity_of(recipe_.path);
        if (identity == seen_) {
            return false;
        }
        std::optional<file_identity> read;
        try {
            auto fresh = load_map(recipe_, read);
            const auto count = fresh->size();
            {
                std::lock_guard swap(current_mutex_);
                current_.swap(fresh);
            }
            seen_ = read;
            spdlog::info("plugin=aliases re-read {}: {} entries", recipe_.path, count);
            return true;
        } catch (const std::exception& e) {
            seen_ = identity;  // say it once for this version of the file, not once a second
            spdlog::error("plugin=aliases keeping the previous map: {}", e.what());
            return false;
        }
    } catch (const std::exception& e) {  // e.g. no memory: keep serving with the map in use
        spdlog::error("plugin=aliases could not look at {}: {}", recipe_.path, e.what());
        return false;
    }
}

}  // namespace mailwright::aliases
