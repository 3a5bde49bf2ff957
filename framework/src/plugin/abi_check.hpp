// Comparing two plugin ABI strings (mailwright/plugin/abi.hpp) part by part, to tell a plugin's author what to
// rebuild: "built with Asio 1.24.1 where this host has 1.22.1" rather than two long strings to compare by eye.
#pragma once

#include <string>
#include <string_view>

namespace mailwright::plugin {

// The first part (in the host's order) where `theirs`, a plugin's ABI string, differs from `ours`, in words:
// "built with <what the plugin has> where this host has <what we have>". Empty when the strings are equal.
// Strings of another layout (an older SDK, a hand-written one) are compared as far as they go.
std::string abi_difference(std::string_view theirs, std::string_view ours);

// What the plugin's author should do about that first difference: "build it as C++20 (-std=c++20); ..." when
// the standard differs, "rebuild it with this Mailwright SDK ..." when the SDK or the compiler does.
std::string abi_remedy(std::string_view theirs, std::string_view ours);

}  // namespace mailwright::plugin
