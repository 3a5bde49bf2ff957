// Reading [plugin.ratelimit]: see rules.hpp.
#include "rules.hpp"

#include <charconv>
#include <mailwright/config/config.hpp>
#include <mailwright/plugin/plugin.hpp>

namespace mailwright::ratelimit {

namespace {

constexpr std::uint32_t max_count = 1000000;
// A week: longer windows are a quota, not a rate, and belong in a store that survives restarts.
constexpr std::chrono::milliseconds max_interval = std::chrono::hours(24 * 7);

// The rules that make sense: a connection has no user or sender yet.
struct rule_key {
    counted what;
    scope by;
};
constexpr rule_key known[] = {
    {counted::connections, scope::client}, {counted::connections, scope::network}, {counted::messages, scope::client},
    {counted::messages, scope::network},   {counted::messages, scope::user},       {counted::messages, scope::sender},
    {counted::recipients, scope::client},  {counted::recipients, scope::network},  {counted::recipients, scope::user},
    {counted::recipients, scope::sender},
};

}  // namespace

std::optional<rate> parse_rate(std::string_view text) {
    const auto slash = text.find('/');
    if (slash == std::string_view::npos || slash == 0) {
        return std::nullopt;
    }
    std::uint32_t count = 0;
    const auto* end = text.data() + slash;
    const auto [ptr, ec] = std::from_chars(text.data(), end, count);
    if (ec != std::errc{} || ptr != end || count == 0 || count > max_count) {
        return std::nullopt;
    }
    const auto interval = config::parse_duration(text.substr(slash + 1));
    if (!interval || interval->count() <= 0 || *interval > max_interval) {
        return std::nullopt;
    }
    return rate{count, std::chrono::nanoseconds(*interval)};
}

rules read_rules(plugin::settings& config) {
    rules out;
    // 8 octets a slot: the default 65536 is 512 KiB, room for tens of thousands of busy keys per interval.
    out.slots = static_cast<std::size_t>(config.integer("slots", 1024, std::int64_t{1} << 26).value_or(65536));
    for (const rule_key& k : known) {
        const std::string key = std::string(to_string(k.by)) + "_" + std::string(to_string(k.what));
        const auto text = config.string(key);
        if (!text) {
            continue;
        }
        const auto r = parse_rate(*text);
        if (!r) {
            config.invalid(key, "COUNT/INTERVAL, e.g. \"20/1m\": a count of 1 to 1000000 per 1ms to 168h");
            continue;
        }
        out.at(k.what, k.by) = *r;
    }
    return out;
}

}  // namespace mailwright::ratelimit
