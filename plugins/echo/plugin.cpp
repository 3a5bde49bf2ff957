// The echo service as a service plugin: a listener whose `service` is "echo" serves it. It has no settings:
// a [plugin.echo] table, when there is one, must be empty. mailwrightd links it in and loads it for a listener
// that names it without such a table (docs/configuration.md).
#include <mailwright/plugin/service.hpp>
#include <memory>

#include "echo.hpp"

namespace {

using namespace mailwright;

class echo_plugin final : public plugin::service_plugin {
  public:
    void init(plugin::settings&, plugin::host_view&) override {}
    std::shared_ptr<server::service> make_service() override { return std::make_shared<echo::service>(); }
};

}  // namespace

MAILWRIGHT_PLUGIN("echo", "service", "1.0", echo_plugin)
