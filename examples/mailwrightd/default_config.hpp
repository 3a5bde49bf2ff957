// The configuration mailwrightd runs with when no --config is given.
#pragma once

#include <string_view>

namespace mailwrightd {

extern const std::string_view default_config;

}  // namespace mailwrightd
