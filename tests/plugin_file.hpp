// A [plugin.<name>] table written in a test, opened as the daemon opens it for a plugin's init(): what a test of
// a plugin's settings reads them through (tests/unit/test_config_plugins.cpp, test_forward_routes.cpp).
#pragma once

#include <algorithm>
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "mailwright/config/config.hpp"

namespace test {

inline const std::string_view plugin_file_services[] = {"echo"};

// Whether one of the error lines finish() gave mentions `text`.
inline bool has_error(const std::vector<std::string>& errors, const std::string& text) {
    return std::any_of(errors.begin(), errors.end(),
                       [&](const std::string& e) { return e.find(text) != std::string::npos; });
}

// The file's [plugin.<name>] tables, each opened as the daemon opens it for init().
struct plugin_file {
    mailwright::config::daemon_config cfg;
    std::vector<mailwright::config::error> errors;
    std::unique_ptr<mailwright::config::plugin_settings> settings;

    explicit plugin_file(const std::string& tables) {
        auto loaded = mailwright::config::load_string(tables + "\n[[listener]]\nname = \"x\"\nservice = \"echo\"\n",
                                                      "plugins.toml", mailwright::config::schema{plugin_file_services});
        REQUIRE(loaded.config);
        cfg = std::move(*loaded.config);
        REQUIRE(cfg.plugins.sections.size() == 1);
        settings = mailwright::config::open_plugin_settings(cfg, cfg.plugins.sections.front(), errors);
    }

    std::vector<std::string> finish() {
        settings->finish(true);
        std::vector<std::string> lines;
        for (const auto& e : errors) {
            lines.push_back(e.to_string());
        }
        return lines;
    }
};

}  // namespace test
