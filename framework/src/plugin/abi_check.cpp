// abi_difference: see the header. An ABI string is words "part/value" separated by spaces; a word without a
// slash continues the previous value (a hand-written "gcc/4.8 from another build").
#include "abi_check.hpp"

#include <fmt/format.h>

#include <charconv>
#include <vector>

namespace mailwright::plugin {

namespace {

struct part {
    std::string_view key;
    std::string value;
};

std::vector<part> parts_of(std::string_view abi) {
    std::vector<part> parts;
    while (!abi.empty()) {
        const auto space = abi.find(' ');
        const auto word = abi.substr(0, space);
        abi = space == std::string_view::npos ? std::string_view() : abi.substr(space + 1);
        if (word.empty()) {
            continue;
        }
        const auto slash = word.find('/');
        if (slash == std::string_view::npos && !parts.empty()) {
            parts.back().value += ' ';
            parts.back().value += word;
        } else if (slash == std::string_view::npos) {
            parts.push_back({{}, std::string(word)});
        } else {
            parts.push_back({word.substr(0, slash), std::string(word.substr(slash + 1))});
        }
    }
    return parts;
}

// ASIO_VERSION and BOOST_VERSION are both major * 100000 + minor * 100 + patch.
std::string dotted_version(const std::string& value) {
    unsigned v = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc() || end != value.data() + value.size()) {
        return value;
    }
    return fmt::format("{}.{}.{}", v / 100000, v / 100 % 1000, v % 100);
}

// __cplusplus as the year of the standard ("20"), empty when unknown. g++ 12 says 202100L for -std=c++23,
// which was not final yet.
std::string_view standard_year(std::string_view value) {
    static constexpr std::pair<std::string_view, std::string_view> years[] = {
        {"201103L", "11"}, {"201402L", "14"}, {"201703L", "17"},
        {"202002L", "20"}, {"202100L", "23"}, {"202302L", "23"},
    };
    for (const auto& [number, year] : years) {
        if (value == number) {
            return year;
        }
    }
    return {};
}

// "C++23 (202100L)" ("C++ standard 199711L" when the year is unknown): the name a reader knows, and the number the ABI
// string compares.
std::string standard_name(const std::string& value) {
    const auto year = standard_year(value);
    return year.empty() ? fmt::format("C++ standard {}", value) : fmt::format("C++{} ({})", year, value);
}

// What a part is called, and its value as a reader knows it.
struct described {
    std::string label;  // empty when the value says it all
    std::string value;
};

described describe(const part& p) {
    if (p.key == "mailwright-plugin") {
        return {"plugin interface version", p.value};
    }
    if (p.key == "cxx11-abi") {
        return {"_GLIBCXX_USE_CXX11_ABI", p.value};
    }
    if (p.key == "c++") {
        return {{}, standard_name(p.value)};
    }
    if (p.key == "asio") {
        return {"Asio", dotted_version(p.value)};
    }
    if (p.key == "boost") {
        return {"Boost", dotted_version(p.value)};
    }
    if (p.key == "sanitize") {
        return {{},
                p.value == "none"      ? "no sanitizer"
                : p.value == "address" ? "AddressSanitizer"
                : p.value == "thread"  ? "ThreadSanitizer"
                                       : fmt::format("sanitizer {}", p.value)};
    }
    return {std::string(p.key), p.value};  // gcc, clang, libstdc++, libc++ say what they are
}

std::string in_words(const described& d) { return d.label.empty() ? d.value : d.label + " " + d.value; }

// The index of the first part (in the host's order) where the plugin differs; host.size() when the host's
// parts all match and the plugin has more (or its string differs in some other way).
std::size_t first_difference(const std::vector<part>& plugin, const std::vector<part>& host) {
    for (std::size_t i = 0; i < host.size(); ++i) {
        if (i >= plugin.size() || plugin[i].key != host[i].key || plugin[i].value != host[i].value) {
            return i;
        }
    }
    return host.size();
}

}  // namespace

std::string abi_remedy(std::string_view theirs, std::string_view ours) {
    const auto host = parts_of(ours);
    const auto i = first_difference(parts_of(theirs), host);
    const std::string_view key = i < host.size() ? host[i].key : std::string_view();
    if (key == "c++") {
        // Rebuilding with the same SDK changes nothing while the project asks for another standard (the plugin
        // author who met this had done exactly that).
        const auto year = standard_year(host[i].value);
        return fmt::format("build it with {}{}; mailwright_add_plugin() sets the SDK's standard",
                           year.empty() ? "the host's C++ standard, __cplusplus " : "-std=c++",
                           year.empty() ? host[i].value : std::string(year));
    }
    if (key == "sanitize") {
        return "build it with the host's sanitizer flags (mailwright::options carries them)";
    }
    if (key == "cxx11-abi") {
        return fmt::format("build it with _GLIBCXX_USE_CXX11_ABI={}, as the host was", host[i].value);
    }
    return "rebuild it with this Mailwright SDK and the compiler the SDK was built with";
}

std::string abi_difference(std::string_view theirs, std::string_view ours) {
    if (theirs == ours) {
        return {};
    }
    const auto plugin = parts_of(theirs);
    const auto host = parts_of(ours);
    for (std::size_t i = 0; i < host.size(); ++i) {
        const auto we = describe(host[i]);
        if (i >= plugin.size()) {
            return fmt::format("built with no {} in its ABI string where this host has {}",
                               we.label.empty() ? std::string(host[i].key) : we.label, we.value);
        }
        if (plugin[i].key == host[i].key && plugin[i].value == host[i].value) {
            continue;
        }
        const auto they = describe(plugin[i]);
        if (plugin[i].key == host[i].key && !we.label.empty()) {
            return fmt::format("built with {} {} where this host has {}", we.label, they.value, we.value);
        }
        return fmt::format("built with {} where this host has {}", in_words(they), in_words(we));
    }
    if (plugin.size() > host.size()) {
        return fmt::format("built with {}, which this host does not know", in_words(describe(plugin[host.size()])));
    }
    return "built with another ABI string";
}

}  // namespace mailwright::plugin
