// The access plugin's rules file (rules_file.hpp): reading it within bounds, and re-reading it on change.
#include "rules_file.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace mailwright::access {

std::optional<file_identity> identity_of(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        return std::nullopt;
    }
    return file_identity{st.st_dev, st.st_ino, st.st_size,
                         static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

std::shared_ptr<const rule_set> load_rules(const std::string& path, std::optional<file_identity>& identity) {
    identity = identity_of(path);
    std::ifstream in(path, std::ios::binary);
    if (!identity || !in) {
        throw std::runtime_error(path + ": cannot read the rules file: " + std::strerror(errno));
    }
    if (static_cast<std::uint64_t>(identity->size) > max_file_size) {
        throw std::runtime_error(path + ": the rules file is over " + std::to_string(max_file_size) + " octets");
    }
    // Read at most one octet over the limit: the file may have grown since stat().
    std::string text(max_file_size + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_file_size) {
        throw std::runtime_error(path + ": the rules file is over " + std::to_string(max_file_size) + " octets");
    }
    auto parsed = parse_rules(text);
    if (!parsed.rules) {
        throw std::runtime_error(path + ":" + std::to_string(parsed.line) + ": " + parsed.error);
    }
    return std::move(parsed.rules);
}

rules_source::rules_source(std::string path, std::chrono::milliseconds interval)
    : path_(std::move(path)), interval_(interval) {
    current_ = load_rules(path_, seen_);
    next_look_.store((std::chrono::steady_clock::now() + interval_).time_since_epoch().count());
}

bool rules_source::due(std::chrono::steady_clock::time_point now) noexcept {
    auto next = next_look_.load(std::memory_order_relaxed);
    const auto ticks = now.time_since_epoch().count();
    // Whoever moves next_look_ on is the one caller that looks; the others see it moved and carry on.
    return ticks >= next && next_look_.compare_exchange_strong(next, (now + interval_).time_since_epoch().count());
}

bool rules_source::refresh() noexcept {
    try {
        std::lock_guard lock(refreshing_);
        const auto identity = identity_of(path_);
        if (identity == seen_) {
            return false;
        }
        std::optional<file_identity> read;
        try {
            auto fresh = load_rules(path_, read);
            const auto count = fresh->size();
            {
                std::lock_guard swap(current_mutex_);
                current_.swap(fresh);
            }
            seen_ = read;
            spdlog::info("plugin=access re-read {}: {} rules", path_, count);
            return true;
        } catch (const std::exception& e) {
            seen_ = identity;  // say it once for this version of the file, not once a second
            spdlog::error("plugin=access keeping the previous rules: {}", e.what());
            return false;
        }
    } catch (const std::exception& e) {  // e.g. no memory: keep serving with the rules in use
        spdlog::error("plugin=access could not look at {}: {}", path_, e.what());
        return false;
    }
}

}  // namespace mailwright::access
