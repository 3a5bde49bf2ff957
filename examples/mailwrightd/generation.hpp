// One configuration as mailwrightd serves it, and the reload that replaces it.
//
// A generation is what one reading of the file built: its plugins (a plugin::host of their own), the TLS
// contexts of its listeners and their services. The server serves the newest; a session keeps the listener
// it was accepted by, whose service keeps its generation's plugins alive, so it finishes on the configuration
// it started with. A reload builds the next generation completely (file, plugins, certificates, services,
// the sockets of new addresses) before anything changes: any failure leaves the current one serving.
#pragma once

#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "mailwright/config/config.hpp"
#include "mailwright/plugin/host.hpp"
#include "mailwright/server/server.hpp"
#include "mailwright/tls/context.hpp"
#include "services.hpp"

namespace mailwrightd {

struct generation {
    mailwright::config::daemon_config config;
    std::shared_ptr<mailwright::plugin::host> plugins;
    std::map<std::string, std::shared_ptr<mailwright::tls::context_holder>> tls;
    std::vector<mailwright::server::listener_options> listeners;

    // Whether a session may still use it: its services are held elsewhere than here.
    bool in_use() const;
};

// What the daemon keeps across generations: the failed-login penalties and the POP3 login times (an
// attacker gains nothing by waiting for a reload), the host name.
struct lasting_state {
    std::shared_ptr<mailwright::sasl::failure_penalty> penalty;
    std::shared_ptr<mailwright::pop3::login_times> logins = std::make_shared<mailwright::pop3::login_times>();
    std::string hostname;
};

// Builds the services of `g` (whose config, plugins and TLS contexts are set) into g.listeners. Throws
// std::runtime_error naming the listener.
void build_listeners(generation& g, lasting_state& lasting);

struct reload_outcome {
    bool ok = false;
    std::string message;  // what changed, or why nothing did
};

// The serving daemon's configuration over time. reload() may come from any thread (SIGHUP on the server's
// control thread, mailwrightctl on the admin thread); reloads take turns.
class configuration_keeper {
  public:
    configuration_keeper(std::string path, mailwright::server::server& server, lasting_state lasting,
                         std::unique_ptr<generation> first);
    ~configuration_keeper();

    reload_outcome reload();
    // The plugins of the configuration serving now (mailwrightctl status).
    std::vector<mailwright::plugin::loaded_plugin> plugins();

  private:
    reload_outcome reload_locked();
    std::unique_ptr<generation> next_generation(mailwright::config::daemon_config config, lasting_state& lasting,
                                                std::string& why);

    std::mutex mutex_;
    std::string path_;
    mailwright::server::server& server_;
    lasting_state lasting_;
    std::unique_ptr<generation> current_;
    std::list<std::unique_ptr<generation>> retired_;  // unloaded once no session uses them
};

}  // namespace mailwrightd
