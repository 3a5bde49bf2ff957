// The metrics endpoint: [admin] metrics = "127.0.0.1:9325" serves the framework's metrics
// (mailwright/metrics/instruments.hpp) in the Prometheus text format 0.0.4 over a minimal HTTP/1.1 server on
// the admin thread (admin.hpp): GET /metrics answers 200, anything else 404, one request per connection.
#pragma once

#include <asio/io_context.hpp>
#include <memory>
#include <string>

#include "mailwright/config/config.hpp"

namespace mailwrightd {

class metrics_endpoint {
  public:
    // The endpoint [admin] metrics asks for, bound and started, with every configured listener's series at zero;
    // nullptr when the key is not set. Throws as the constructor does.
    static std::unique_ptr<metrics_endpoint> open(asio::io_context& admin,
                                                  const mailwright::config::daemon_config& cfg);

    // Binds `address` (config::parse_listen_address's forms); throws std::system_error naming it when the
    // address is taken or cannot be bound, as a listener's bind does: the daemon does not start.
    metrics_endpoint(asio::io_context& admin, const std::string& address);
    metrics_endpoint(const metrics_endpoint&) = delete;
    metrics_endpoint& operator=(const metrics_endpoint&) = delete;
    ~metrics_endpoint();

    // Starts accepting on the admin io_context (served once its thread runs); logs where.
    void start();
    // Closes the listening socket (on the admin thread); open scrapes end with the admin thread.
    void stop();

    struct state;

  private:
    std::shared_ptr<state> state_;
};

}  // namespace mailwrightd
