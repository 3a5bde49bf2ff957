// The plugin host: finds each configured plugin (linked into the program, or a shared library on the search
// path), checks its descriptor before trusting it, orders plugins by their dependencies, makes and
// initialises them, and hands them out by kind. Shut down in reverse order when destroyed.
//
// Rules for several plugins of one kind: auth plugins form a chain in the order of [plugins] auth (the
// first that authenticates wins; a rejection asks the next; if none accepts and one could not decide, the
// answer is tempfail); hooks all run, in the order of [plugins] hooks; a server has one mailstore, so two
// are a start-up error; service plugins are named by listeners.
//
// Fault barrier: every call the framework makes into an auth, hook or mailstore plugin (and into the
// maildrops, readers and deliveries a store hands out) goes through a wrapper that turns an escaping
// exception into a temporary failure for that call only, logged with the plugin's name.
#pragma once

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "mailwright/pipeline/message_pipeline.hpp"
#include "mailwright/plugin/auth.hpp"
#include "mailwright/plugin/hook.hpp"
#include "mailwright/plugin/mailstore.hpp"
#include "mailwright/plugin/plugin.hpp"
#include "mailwright/server/service.hpp"

namespace mailwright::plugin {

class load_error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct load_request {
    std::string name;
    settings* config = nullptr;  // the plugin's [plugin.<name>] table; must outlive load()
};

struct host_options {
    std::vector<std::filesystem::path> search_path;  // searched in order for mailwright-<name>.so
    std::string state_dir;
    std::vector<std::string> auth_order;  // required when more than one auth plugin is loaded
    std::vector<std::string> hook_order;  // default: hooks in the order requested
    bool checking = false;                // host_view::checking(): a configuration check, not a start
};

struct loaded_plugin {
    std::string name;
    plugin_kind kind;
    std::string version;
    std::string origin;  // the library's path, or "linked-in"
};

// Where plugins are looked for unless configured otherwise, found from where the running libmailwright is:
// <libdir>/mailwright/plugins beside an installed library (wherever its prefix was copied or moved), or this
// build's plugins/ directory when the library is the build tree's own.
std::vector<std::filesystem::path> default_search_path();

// The names of the plugins of that kind linked into this program (MAILWRIGHT_PLUGIN_LINKED), loaded or
// not: what a program can load without a shared library (mailwrightd's listeners name linked-in services).
std::vector<std::string_view> linked_plugin_names(plugin_kind kind);

class host {
  public:
    explicit host(host_options options);
    host(const host&) = delete;
    host& operator=(const host&) = delete;
    ~host();

    // Loads, orders, makes and initialises the requested plugins. Throws load_error naming the plugin, the
    // file and what is wrong; plugins initialised before the failure are shut down again.
    void load(const std::vector<load_request>& requests);
    // Whether load() ran the plugin's init() to its end, even if a later plugin then failed: only such a
    // plugin has read all the keys it knows, so only its unread keys are unknown (config::plugin_settings).
    bool initialised(std::string_view name) const;

    // The authentication chain, behind the fault barrier. With no auth plugin it rejects everyone.
    auth_backend& auth();
    // The mailstore, or null when none is configured.
    std::shared_ptr<mailstore> store() const;
    // Runs every hook in order; the first answer that is not accept decides. Exceptions become tempfail.
    asio::awaitable<reply> run_smtp_hooks(smtp_phase phase, const event_context& context);
    asio::awaitable<reply> run_pop3_hooks(pop3_event event, const event_context& context);
    // Asks the hooks in order who receives mail for local_part@domain (hook::resolve); the first that answers
    // decides. An exception refuses the recipient for now.
    asio::awaitable<resolution> resolve_recipient(std::string_view local_part, std::string_view domain,
                                                  const event_context& context);
    // The message filters of the hooks that look into this message, in order. A hook whose filter() throws
    // gets an empty entry, which refuses the message for now (nothing is stored that a filter did not see).
    pipeline::filter_list make_filters(const event_context& context);
    // A new service from the service plugin of that name, or null when there is none.
    std::shared_ptr<server::service> make_service(std::string_view name);
    bool provides_service(std::string_view name) const;

    std::vector<loaded_plugin> loaded() const;

    struct impl;

  private:
    std::unique_ptr<impl> impl_;
};

}  // namespace mailwright::plugin
