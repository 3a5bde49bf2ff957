// echo: a diagnostic line service. It greets, repeats each line back, and ends on QUIT. The daemon can serve
// it as a health check, and the test suite uses it to exercise the server core (limits, deadlines, shutdown)
// without depending on a mail protocol.
#pragma once

#include "mailwright/server/service.hpp"

namespace mailwright::services {

class echo final : public server::service {
  public:
    std::string_view name() const override { return "echo"; }
    asio::awaitable<void> serve(server::session& s) override;
    std::string refusal_line(server::refusal why) const override;
};

}  // namespace mailwright::services
