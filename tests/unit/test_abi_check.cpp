// abi_difference: the first part of a plugin's ABI string that differs from the host's, in words.
#include "plugin/abi_check.hpp"

#include <catch2/catch.hpp>
#include <string>

using mailwright::plugin::abi_difference;

namespace {
const std::string host =
    "mailwright-plugin/3 gcc/12.2.0 libstdc++/12 cxx11-abi/1 c++/202002L asio/102201 boost/108100 sanitize/none";

std::string with(std::string_view from, std::string_view to) {
    std::string s = host;
    s.replace(s.find(from), from.size(), to);
    return s;
}
}  // namespace

TEST_CASE("abi_difference: names the first part that differs", "[abi]") {
    struct named_case {
        const char* name;
        std::string plugin;
        const char* expected;
    };
    const named_case cases[] = {
        {"equal", host, ""},
        {"interface", with("mailwright-plugin/3", "mailwright-plugin/2"),
         "built with plugin interface version 2 where this host has 3"},
        {"compiler version", with("gcc/12.2.0", "gcc/13.1.0"), "built with gcc 13.1.0 where this host has 12.2.0"},
        {"another compiler", with("gcc/12.2.0", "clang/14.0.6"),
         "built with clang 14.0.6 where this host has gcc 12.2.0"},
        {"old string ABI", with("cxx11-abi/1", "cxx11-abi/0"),
         "built with _GLIBCXX_USE_CXX11_ABI 0 where this host has 1"},
        {"standard", with("c++/202002L", "c++/201703L"),
         "built with C++17 (201703L) where this host has C++20 (202002L)"},
        // g++ 12's -std=c++23 (the standard was not final yet).
        {"g++ 12's C++23", with("c++/202002L", "c++/202100L"),
         "built with C++23 (202100L) where this host has C++20 (202002L)"},
        {"unknown standard", with("c++/202002L", "c++/199711L"),
         "built with C++ standard 199711L where this host has C++20 (202002L)"},
        {"asio", with("asio/102201", "asio/102401"), "built with Asio 1.24.1 where this host has 1.22.1"},
        {"boost", with("boost/108100", "boost/108300"), "built with Boost 1.83.0 where this host has 1.81.0"},
        {"asan", with("sanitize/none", "sanitize/address"),
         "built with AddressSanitizer where this host has no sanitizer"},
        {"tsan", with("sanitize/none", "sanitize/thread"),
         "built with ThreadSanitizer where this host has no sanitizer"},
        // Two parts differ: the first one in the host's order is reported.
        {"first of two", with("asio/102201 boost/108100", "asio/102401 boost/108300"),
         "built with Asio 1.24.1 where this host has 1.22.1"},
        // An SDK from before the string named Asio and Boost (interface version 2).
        {"older SDK", "mailwright-plugin/2 gcc/12.2.0 libstdc++/12 c++/202002L",
         "built with plugin interface version 2 where this host has 3"},
        {"shorter", "mailwright-plugin/3 gcc/12.2.0 libstdc++/12 cxx11-abi/1 c++/202002L",
         "built with no Asio in its ABI string where this host has 1.22.1"},
        {"hand-written", "mailwright-plugin/0 gcc/4.8 from another build",
         "built with plugin interface version 0 where this host has 3"},
        {"not an ABI string", "", "built with no plugin interface version in its ABI string where this host has 3"},
    };
    for (const auto& c : cases) {
        INFO(c.name);
        CHECK(abi_difference(c.plugin, host) == c.expected);
    }
}

TEST_CASE("abi_remedy: says what to change, not always 'rebuild'", "[abi]") {
    using mailwright::plugin::abi_remedy;
    // The author who met a standard mismatch had rebuilt with this very SDK: only the standard would help.
    CHECK(abi_remedy(with("c++/202002L", "c++/202100L"), host) ==
          "build it with -std=c++20; mailwright_add_plugin() sets the SDK's standard");
    CHECK(abi_remedy(with("cxx11-abi/1", "cxx11-abi/0"), host) ==
          "build it with _GLIBCXX_USE_CXX11_ABI=1, as the host was");
    CHECK_THAT(abi_remedy(with("sanitize/none", "sanitize/address"), host),
               Catch::StartsWith("build it with the host's sanitizer"));
    CHECK_THAT(abi_remedy(with("asio/102201", "asio/102401"), host),
               Catch::StartsWith("rebuild it with this Mailwright SDK"));
    CHECK_THAT(abi_remedy("mailwright-plugin/0 gcc/4.8 from another build", host),
               Catch::StartsWith("rebuild it with this Mailwright SDK"));
}
