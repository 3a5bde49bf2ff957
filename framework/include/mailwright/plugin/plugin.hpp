// What every plugin is: a named object of one kind, made by a factory the library exports, configured from
// its own [plugin.<name>] table, initialised in dependency order and shut down in reverse.
//
// A plugin library exports two symbols, both written by MAILWRIGHT_PLUGIN():
//   - mailwright_plugin_descriptor: a plain C struct the host reads before anything else (name, kind, ABI
//     string, version, dependencies), so a wrong library is refused with a clear message before any C++
//     object crosses the boundary;
//   - mailwright_plugin_create: the factory (BOOST_DLL_ALIAS), called once.
// The same source, compiled with MAILWRIGHT_PLUGIN_LINKED defined, registers itself with the host of the
// program it is linked into instead: no shared library, no dlopen (one binary for appliances).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mailwright/plugin/abi.hpp"

namespace mailwright::plugin {

enum class plugin_kind {
    auth,       // credentials, stored secrets, certificate mapping, authorization (auth.hpp)
    mailstore,  // mailbox access and delivery (mailstore.hpp)
    hook,       // accept / reject / tempfail at SMTP phases and POP3 events (hook.hpp)
    service,    // a whole protocol on a listener (service.hpp)
};

std::string_view to_string(plugin_kind k) noexcept;

// The plugin's own configuration table. Every key the plugin does not read is reported as unknown (with
// file:line:column) after init(). A getter returns nothing when the key is absent, and when its value is of
// the wrong type or out of range: that mistake is reported then, once, where the value stands. So a plugin
// need not tell the two apart: when a key it needs is not there, it calls invalid(), which reports a missing
// key at the table's position and adds nothing for a key whose value a getter has already refused. A missing
// key in a table where a getter refused another value is not reported either: one mistake, one error (with
// `entries = 5` a plugin that wants `map` or `entries` hears only about the 5).
class settings {
  public:
    virtual ~settings() = default;
    virtual std::optional<std::string> string(std::string_view key) = 0;
    virtual std::optional<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max) = 0;
    virtual std::optional<bool> boolean(std::string_view key) = 0;
    virtual std::optional<std::vector<std::string>> strings(std::string_view key) = 0;  // a string or an array
    virtual std::optional<std::chrono::milliseconds> duration(std::string_view key) = 0;
    // Reports a problem with a key's value, at the key's position (or the table's when it is absent); nothing
    // more when a getter has already reported the key's value as wrong.
    virtual void invalid(std::string_view key, std::string_view what_would_be_right) = 0;
    // The tables under `key`, each read like this one (unknown keys and mistakes reported where they stand):
    // the entries of an array of tables ([[plugin.milter.milters]], named "1", "2", ...) or the tables inside
    // a table ([plugin.forward.hops.dovecot], named by their keys). Valid as long as this object. Empty when
    // the key is absent, or holds something else (reported). Settings that have no tables give none.
    struct child {
        std::string name;
        settings* table = nullptr;
    };
    virtual std::vector<child> tables(std::string_view /*key*/) { return {}; }
};

class auth_backend;

// What a plugin may use of its host during init().
class host_view {
  public:
    virtual ~host_view() = default;
    // The configured authentication chain (with the fault barrier): for service plugins that authenticate.
    virtual auth_backend& auth() = 0;
    virtual const std::string& state_dir() const = 0;
    // True under `mailwrightd --check-config`: read and validate your settings and files, and create nothing
    // (no directory, database, socket or state file), for the check must leave the system as it found it.
    // The plugin is shut down and destroyed after the check, never asked to serve.
    virtual bool checking() const = 0;
};

class plugin_base {
  public:
    virtual ~plugin_base() = default;
    virtual plugin_kind kind() const noexcept = 0;

    // Reads the plugin's settings and prepares it. Throw std::exception to refuse to start: the daemon
    // exits before it listens, naming the plugin and the message.
    virtual void init(settings& config, host_view& host) = 0;

    // Called in reverse dependency order before the process exits.
    virtual void shutdown() noexcept {}
};

}  // namespace mailwright::plugin

// The descriptor: plain C, read before any C++ object is made.
extern "C" {
struct mailwright_plugin_info {
    const char* name;
    const char* kind;  // "auth", "mailstore", "hook", "service"
    const char* abi;   // MAILWRIGHT_PLUGIN_ABI of the SDK the plugin was built with
    const char* version;
    const char* const* dependencies;  // names of plugins that must be initialised first; null-terminated
};
}

namespace mailwright::plugin {

using factory_function = plugin_base*();

// Linked-in plugins register here (MAILWRIGHT_PLUGIN with MAILWRIGHT_PLUGIN_LINKED).
struct linked_registration {
    linked_registration(const mailwright_plugin_info* descriptor, factory_function* factory) noexcept;
};

}  // namespace mailwright::plugin

#if defined(MAILWRIGHT_PLUGIN_LINKED)
// clang-format off
#define MAILWRIGHT_PLUGIN(NAME, KIND, VERSION, CLASS, ...)                                                 \
    namespace {                                                                                          \
    const char* const mailwright_plugin_dependencies[] = {__VA_ARGS__ __VA_OPT__(,) nullptr};            \
    const mailwright_plugin_info mailwright_plugin_descriptor_linked{                              \
        NAME, KIND, MAILWRIGHT_PLUGIN_ABI, VERSION, mailwright_plugin_dependencies};                     \
    ::mailwright::plugin::plugin_base* mailwright_plugin_create_linked() { return new CLASS(); }              \
    const ::mailwright::plugin::linked_registration mailwright_plugin_registered{                        \
        &mailwright_plugin_descriptor_linked, &mailwright_plugin_create_linked};                         \
    }
// clang-format on
#else
#include <boost/dll/alias.hpp>
// clang-format off
#define MAILWRIGHT_PLUGIN(NAME, KIND, VERSION, CLASS, ...)                                                 \
    namespace {                                                                                          \
    const char* const mailwright_plugin_dependencies[] = {__VA_ARGS__ __VA_OPT__(,) nullptr};            \
    ::mailwright::plugin::plugin_base* mailwright_plugin_create_impl() { return new CLASS(); }                \
    }                                                                                                    \
    extern "C" BOOST_SYMBOL_EXPORT const mailwright_plugin_info mailwright_plugin_descriptor{      \
        NAME, KIND, MAILWRIGHT_PLUGIN_ABI, VERSION, mailwright_plugin_dependencies};                     \
    BOOST_DLL_ALIAS(mailwright_plugin_create_impl, mailwright_plugin_create)
// clang-format on
#endif
