// What a service reads its own part of the configuration through: a listener's table such as [listener.pop3].
// The config layer knows no protocol; each service declares its keys, defaults and checks in one place
// (src/pop3/settings.cpp, src/smtp/settings.cpp) against this interface, and the config layer reads the file.
//
// Each getter leaves `out` as it is when the key is absent, so a service starts from its default-constructed
// options and the file overwrites what it says. A wrong value is reported (file:line:column, what is wrong,
// what would be right) and leaves `out` alone too. Keys the service does not ask for are reported as unknown,
// with the nearest known one as a suggestion.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace mailwright::config {

// One word of a choice and the enum value it stands for: {"mx", smtp::role::mx}.
template <class Enum>
struct named {
    std::string_view name;
    Enum value;
};

class section_reader {
  public:
    virtual ~section_reader() = default;

    // Each returns whether the file set `out`.
    bool string(std::string_view key, std::string& out) { return assign(out, get_string(key)); }
    bool boolean(std::string_view key, bool& out) { return assign(out, get_boolean(key)); }
    // A string or an array of strings.
    bool strings(std::string_view key, std::vector<std::string>& out) { return assign(out, get_strings(key)); }

    template <class Int>
    requires std::is_integral_v<Int>
    bool integer(std::string_view key, Int& out, std::int64_t min, std::int64_t max) {
        const auto value = get_integer(key, min, max);
        return value && assign(out, std::optional<Int>(static_cast<Int>(*value)));
    }

    // "90s", "5m", "2h", "250ms", or a bare number of seconds, from min to max; stored in out's own unit.
    template <class Rep, class Period>
    bool duration(std::string_view key, std::chrono::duration<Rep, Period>& out, std::chrono::milliseconds min,
                  std::chrono::milliseconds max) {
        const auto value = get_duration(key, min, max);
        if (!value) {
            return false;
        }
        out = std::chrono::duration_cast<std::chrono::duration<Rep, Period>>(*value);
        return true;
    }

    // One of `allowed`, kept as the word.
    bool choice(std::string_view key, std::string& out, std::initializer_list<std::string_view> allowed) {
        const auto index = get_choice(key, std::span(allowed.begin(), allowed.size()));
        return index && assign(out, std::optional<std::string>(allowed.begin()[*index]));
    }

    // One of the words in `names`, as the enum value it stands for.
    template <class Enum>
    requires std::is_enum_v<Enum>
    bool choice(std::string_view key, Enum& out, std::initializer_list<named<Enum>> names) {
        std::vector<std::string_view> allowed;
        for (const auto& n : names) {
            allowed.push_back(n.name);
        }
        const auto index = get_choice(key, allowed);
        return index && assign(out, std::optional<Enum>(names.begin()[*index].value));
    }

    // Reports a value that passed its type's check but not the service's ("'key' in [table] " comes first, so
    // `what_would_be_right` reads on: "must be one line"), at the key's position, or the table's when the key
    // is absent.
    virtual void invalid(std::string_view key, std::string_view what_would_be_right) = 0;

  protected:
    // Each reports a present but wrong value itself and returns nullopt for it, as for an absent key.
    virtual std::optional<std::string> get_string(std::string_view key) = 0;
    virtual std::optional<bool> get_boolean(std::string_view key) = 0;
    virtual std::optional<std::vector<std::string>> get_strings(std::string_view key) = 0;
    virtual std::optional<std::int64_t> get_integer(std::string_view key, std::int64_t min, std::int64_t max) = 0;
    virtual std::optional<std::chrono::milliseconds> get_duration(std::string_view key, std::chrono::milliseconds min,
                                                                  std::chrono::milliseconds max) = 0;
    // The index in `allowed` of the key's word.
    virtual std::optional<std::size_t> get_choice(std::string_view key, std::span<const std::string_view> allowed) = 0;

  private:
    template <class T>
    static bool assign(T& out, std::optional<T> value) {
        if (!value) {
            return false;
        }
        out = std::move(*value);
        return true;
    }
};

}  // namespace mailwright::config
