// echo: a diagnostic line service. It greets, repeats each line back, and ends on QUIT. The daemon can serve
// it as a health check, and the test suite uses it to exercise the server core (limits, deadlines, shutdown)
// without depending on a mail protocol. A service plugin (plugin.cpp): mailwright-echo.so, or linked into a
// program as echo_linked (CMakeLists.txt), which mailwrightd does.
#pragma once

#include "mailwright/server/service.hpp"

namespace mailwright::echo {

class service final : public server::service {
  public:
    std::string_view name() const override { return "echo"; }
    asio::awaitable<void> serve(server::session& s) override;
    std::string refusal_line(server::refusal why) const override;
};

}  // namespace mailwright::echo
