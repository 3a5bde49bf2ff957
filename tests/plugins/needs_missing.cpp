// Test hook plugin that depends on a plugin nobody configured.
#include <mailwright/plugin/hook.hpp>

namespace {
class needy final : public mailwright::plugin::hook {
  public:
    void init(mailwright::plugin::settings&, mailwright::plugin::host_view&) override {}
};
}  // namespace

MAILWRIGHT_PLUGIN("needs-missing", "hook", "1.0", needy, "absent")
