// The readers of the configuration's tables, one file each (private to src/config): config.cpp reads the
// top level and the small tables, tls.cpp [tls] and [listener.tls_options], listener.cpp [[listener]].
#pragma once

#include <toml++/toml.h>
#include <memory>

#include "mailwright/config/config.hpp"
#include "table_reader.hpp"

namespace mailwright::config {

// A plugin's table, read when the plugin initialises. It points into the parsed file, kept alive here,
// rather than holding a copy: toml++ copies no source positions, and every message about a plugin's
// settings must say where in the file it stands.
struct plugin_table {
    std::shared_ptr<const toml::table> root;
    const toml::table* table = nullptr;
};

// [tls]
void read_tls(const toml::table& table, tls_config& out, context& ctx);
// [listener.tls_options]: the listener's `tls` (a copy of [tls]) with this table's keys on top.
void read_tls_options(const toml::node& node, tls::settings& out, context& ctx);

// One [[listener]]; `out` comes with its defaults (the [tls] settings among them).
void read_listener(const toml::table& table, listener_config& out, const schema& known, context& ctx);

}  // namespace mailwright::config
