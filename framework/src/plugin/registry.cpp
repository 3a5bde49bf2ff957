// The registry of linked-in plugins. Registration happens during static initialisation, before main(), on
// one thread; lookups happen after. A function-local static avoids the initialisation-order problem.
#include "registry.hpp"

#include "mailwright/plugin/host.hpp"

#include <vector>

namespace mailwright::plugin {

namespace {
std::vector<linked_plugin>& registry() {
    static std::vector<linked_plugin> plugins;
    return plugins;
}
}  // namespace

linked_registration::linked_registration(const mailwright_plugin_info* descriptor, factory_function* factory) noexcept {
    registry().push_back({descriptor, factory});
}

linked_plugin find_linked(std::string_view name) {
    for (const auto& p : registry()) {
        if (name == p.descriptor->name) {
            return p;
        }
    }
    return {nullptr, nullptr};
}

std::vector<std::string_view> linked_plugin_names(plugin_kind kind) {
    std::vector<std::string_view> names;
    for (const auto& p : registry()) {
        if (p.descriptor->name != nullptr && p.descriptor->kind != nullptr && to_string(kind) == p.descriptor->kind) {
            names.emplace_back(p.descriptor->name);
        }
    }
    return names;
}

std::string_view to_string(plugin_kind k) noexcept {
    switch (k) {
        case plugin_kind::auth:
            return "auth";
        case plugin_kind::mailstore:
            return "mailstore";
        case plugin_kind::hook:
            return "hook";
        case plugin_kind::service:
            return "service";
    }
    return "unknown";
}

}  // namespace mailwright::plugin
