// Version of the Mailwright framework and of the plugin ABI it speaks.
#pragma once

#include <string_view>

namespace mailwright {

inline constexpr std::string_view version = "0.1.0";

}  // namespace mailwright
