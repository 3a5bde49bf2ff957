// Test plugin built with another ABI string (CMake sets MAILWRIGHT_PLUGIN_ABI): the host must refuse it.
#include <mailwright/plugin/hook.hpp>

namespace {
class stale final : public mailwright::plugin::hook {
  public:
    void init(mailwright::plugin::settings&, mailwright::plugin::host_view&) override {}
};
}  // namespace

MAILWRIGHT_PLUGIN("wrong-abi", "hook", "0.9", stale)
