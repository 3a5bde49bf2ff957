// Test plugin that needs a function nobody defines: loading it must fail at start (RTLD_NOW), naming the
// symbol, not later in the middle of a session.
#include <mailwright/plugin/hook.hpp>

extern "C" int mailwright_test_function_nobody_defines();

namespace {
class broken final : public mailwright::plugin::hook {
  public:
    void init(mailwright::plugin::settings&, mailwright::plugin::host_view&) override {
        mailwright_test_function_nobody_defines();
    }
};
}  // namespace

MAILWRIGHT_PLUGIN("missing-symbol", "hook", "1.0", broken)
