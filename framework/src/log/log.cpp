// Logging set-up over spdlog.
#include "mailwright/log/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace mailwright::log {

std::optional<level> parse_level(std::string_view name) {
    if (name == "trace") return level::trace;
    if (name == "debug") return level::debug;
    if (name == "info") return level::info;
    if (name == "warn") return level::warn;
    if (name == "error") return level::error;
    if (name == "off") return level::off;
    return std::nullopt;
}

void init(level threshold) {
    auto logger = spdlog::stderr_logger_mt("mailwright");
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l %v");
    logger->set_level(static_cast<spdlog::level::level_enum>(threshold));
    // Lines reach the terminal or journal as they happen, not when a buffer fills.
    logger->flush_on(spdlog::level::trace);
    spdlog::set_default_logger(std::move(logger));
}

}  // namespace mailwright::log
