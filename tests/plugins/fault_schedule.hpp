// The fault schedule of the faulty-auth and faulty-store test plugins, read from the user name: a user named
// "NAME~K~MODE~PLUGIN" has the K-th call of PLUGIN ("auth" or "store") that concerns it fail, MODE "error"
// (the call reports a failure: tempfail, an I/O error), "throw" (it throws a std::exception) or "throwint" (it
// throws an int, which is no std::exception: plugins are C++ and may). Every other user, and every
// other call, is served normally. The injection is logged ("plugin=faulty-PLUGIN injected MODE at call K
// (WHAT) for USER"), so a test can run K = 1, 2, ... until a dialogue makes fewer than K calls of that plugin:
// then every one of them has failed once.
#pragma once

#include <spdlog/spdlog.h>

#include <charconv>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>

namespace faulty {

enum class fault { none, error, raise, raise_other };

inline bool throws(fault f) { return f == fault::raise || f == fault::raise_other; }

class schedule {
  public:
    // `plugin`: the name in the log; `selector`: the last part of the user names this plugin fails for.
    schedule(std::string plugin, std::string selector) : plugin_(std::move(plugin)), selector_(std::move(selector)) {}

    // Counts a call concerning `user` and says whether (and how) it fails.
    fault next(std::string_view user, const char* what) {
        const auto first = user.find('~');
        const auto second = first == std::string_view::npos ? first : user.find('~', first + 1);
        if (second == std::string_view::npos) {
            return fault::none;
        }
        const auto third = user.find('~', second + 1);
        if (third == std::string_view::npos || user.substr(third + 1) != selector_) {
            return fault::none;
        }
        const std::string_view count_text = user.substr(first + 1, second - first - 1);
        const std::string_view mode = user.substr(second + 1, third - second - 1);
        unsigned long at = 0;
        const auto [end, ec] = std::from_chars(count_text.data(), count_text.data() + count_text.size(), at);
        if (ec != std::errc{} || end != count_text.data() + count_text.size() ||
            (mode != "error" && mode != "throw" && mode != "throwint")) {
            return fault::none;
        }
        unsigned long call = 0;
        {
            const std::lock_guard lock(mutex_);
            call = ++calls_[std::string(user)];
        }
        if (call != at) {
            return fault::none;
        }
        spdlog::warn("plugin={} injected {} at call {} ({}) for {}", plugin_, mode, call, what, user);
        return mode == "error" ? fault::error : mode == "throw" ? fault::raise : fault::raise_other;
    }

    // Throws as fault `f` says (raise_other: an int); for "error" faults of calls that can only fail by
    // throwing, a std::exception.
    [[noreturn]] void raise(std::string_view user, const char* what, fault f = fault::raise) const {
        if (f == fault::raise_other) {
            throw 1;
        }
        throw std::runtime_error(plugin_ + ": injected fault in " + what + " for " + std::string(user));
    }

  private:
    std::string plugin_;
    std::string selector_;
    std::mutex mutex_;
    std::map<std::string, unsigned long> calls_;
};

}  // namespace faulty
