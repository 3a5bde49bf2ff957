// Plugins linked into the program (MAILWRIGHT_PLUGIN_LINKED) register here during static initialisation.
#pragma once

#include <string_view>

#include "mailwright/plugin/plugin.hpp"

namespace mailwright::plugin {

struct linked_plugin {
    const mailwright_plugin_info* descriptor;
    factory_function* factory;
};

// The linked-in plugin of that name, or {nullptr, nullptr}.
linked_plugin find_linked(std::string_view name);

}  // namespace mailwright::plugin
