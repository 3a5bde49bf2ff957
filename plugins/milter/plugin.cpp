#include <mailwright/plugin/hook.hpp>
namespace {
class milter_hook final : public mailwright::plugin::hook {
  public:
    void init(mailwright::plugin::settings&, mailwright::plugin::host_view&) override {}
};
}  // namespace
MAILWRIGHT_PLUGIN("milter", "hook", "1.0", milter_hook)
