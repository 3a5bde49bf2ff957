// plugin::default_search_path: where this libmailwright keeps its plugins, found from where the library is.
#include <dlfcn.h>

#include <optional>
#include <system_error>

#include "mailwright/plugin/host.hpp"

namespace mailwright::plugin {

namespace {

// Any object of this library will do: dladdr() names the file that holds it.
const char library_anchor = 0;

// The directory of the libmailwright this code runs in, symbolic links resolved: the file the dynamic
// loader really mapped (whichever RPATH or LD_LIBRARY_PATH found it), so that a copied or moved prefix
// still points at its own plugins, and never at the prefix or build tree the library was configured for.
std::optional<std::filesystem::path> library_directory() {
    Dl_info info{};
    if (dladdr(&library_anchor, &info) == 0 || info.dli_fname == nullptr) {
        return std::nullopt;
    }
    std::error_code ec;
    auto file = std::filesystem::canonical(info.dli_fname, ec);
    if (ec) {
        return std::nullopt;
    }
    return file.parent_path();
}

bool same_directory(const std::filesystem::path& a, const std::filesystem::path& b) {
    std::error_code ec;
    return std::filesystem::equivalent(a, b, ec) && !ec;
}

}  // namespace

std::vector<std::filesystem::path> default_search_path() {
    const auto here = library_directory();
    if (!here) {
        // Only when the loader cannot say where we are (not seen on glibc): the configured install is the
        // best guess left.
        return {MAILWRIGHT_PLUGIN_INSTALL_DIR};
    }
    // The build tree's plugins only for the build tree's library: an installed copy must never load
    // plugins from a build tree that happens to still exist (they may be newer, or half built).
    if (same_directory(*here, MAILWRIGHT_FRAMEWORK_BUILD_DIR)) {
        return {MAILWRIGHT_PLUGIN_BUILD_DIR};
    }
    // The installed layout: libmailwright in <libdir>, its plugins in <libdir>/mailwright/plugins.
    return {*here / "mailwright" / "plugins"};
}

}  // namespace mailwright::plugin
