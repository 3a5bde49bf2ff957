// mailwrightd serving: start-up, the listeners, reload and shutdown.
#pragma once

#include <string>

namespace mailwrightd {

// Serves the configuration at `config_path` (the built-in demo when empty) until SIGTERM/SIGINT.
int serve(const std::string& config_path);

}  // namespace mailwrightd
