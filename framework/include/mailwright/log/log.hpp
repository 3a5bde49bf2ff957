// Logging set-up. Mailwright logs through spdlog, one line per event; lines about a session start with
// session::log_prefix() ("session=12 peer=127.0.0.1:40000"). Secrets (passwords, SASL responses, keys) are
// never logged, at any level: log that a secret was given, never what it was.
#pragma once

#include <optional>
#include <string_view>

namespace mailwright::log {

enum class level { trace, debug, info, warn, error, off };

std::optional<level> parse_level(std::string_view name);

// Configures the default logger: timestamped lines on stderr at the given level.
void init(level threshold);

}  // namespace mailwright::log
