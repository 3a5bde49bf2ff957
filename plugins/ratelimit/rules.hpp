// [plugin.ratelimit] read into ratelimit::rules: one flat key per rule, "<scope>_<what> = "COUNT/INTERVAL"",
// e.g. client_connections = "20/1m" (docs/configuration.md lists them). Flat keys and a compact string,
// because plugin settings hold strings, numbers and durations, not nested tables.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "limiter.hpp"

namespace mailwright::plugin {
class settings;
}

namespace mailwright::ratelimit {

// "20/1m", "5/2s", "1000/24h": a count of 1 to 1000000 per an interval of 1ms to 7 days.
std::optional<rate> parse_rate(std::string_view text);

// Every key the plugin knows, read; a bad value is reported through settings::invalid() and left unlimited.
rules read_rules(plugin::settings& config);

}  // namespace mailwright::ratelimit
