// The service plugin kind: a whole protocol. A listener whose `service` is the plugin's name serves it.
#pragma once

#include <memory>

#include "mailwright/plugin/plugin.hpp"
#include "mailwright/server/service.hpp"

namespace mailwright::plugin {

class service_plugin : public plugin_base {
  public:
    plugin_kind kind() const noexcept final { return plugin_kind::service; }
    // Called once per listener that names this service, after init().
    virtual std::shared_ptr<server::service> make_service() = 0;
};

}  // namespace mailwright::plugin
