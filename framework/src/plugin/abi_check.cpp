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
        return {"C++ standard", p.value};
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

}  // namespace

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
