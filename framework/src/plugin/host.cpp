// plugin::host: discovery, descriptor checks, dependency order, lifetime, and the fault barrier.
#include "mailwright/plugin/host.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/dll/shared_library.hpp>
#include <map>
#include <optional>
#include <set>

#include "abi_check.hpp"
#include "barrier.hpp"
#include "guarded_store.hpp"
#include "mailwright/io/compute.hpp"
#include "mailwright/io/offload.hpp"
#include "mailwright/plugin/service.hpp"
#include "registry.hpp"

namespace mailwright::plugin {

namespace {

using library_ptr = std::shared_ptr<boost::dll::shared_library>;

std::optional<plugin_kind> parse_kind(std::string_view text) {
    for (plugin_kind k : {plugin_kind::auth, plugin_kind::mailstore, plugin_kind::hook, plugin_kind::service}) {
        if (text == to_string(k)) {
            return k;
        }
    }
    return std::nullopt;
}

struct candidate {
    std::string name;
    settings* config = nullptr;
    const mailwright_plugin_info* descriptor = nullptr;
    factory_function* factory = nullptr;
    library_ptr library;  // null for linked-in plugins
    std::string origin;
    plugin_kind kind = plugin_kind::auth;
};

struct instance {
    candidate source;
    std::shared_ptr<plugin_base> object;  // its deleter keeps the library loaded
};

// The chain of auth backends, behind the fault barrier.
class auth_chain final : public auth_backend, secret_provider, certificate_mapper, authorizer, token_verifier {
  public:
    std::vector<std::pair<std::string, std::shared_ptr<auth_backend>>> backends;

    void init(settings&, host_view&) override {}

    asio::awaitable<auth_result> verify_password(std::string_view user, std::string_view password) override {
        co_return co_await ask([&](auth_backend& b) { return b.verify_password(user, password); }, "verify_password");
    }
    asio::awaitable<auth_result> lookup(std::string_view user) override {
        co_return co_await ask([&](auth_backend& b) { return b.lookup(user); }, "lookup");
    }
    // The chain has an ability when one of its backends has it: a service can then tell whether APOP or
    // EXTERNAL can work at all before it offers them.
    secret_provider* secrets() noexcept override {
        return std::any_of(backends.begin(), backends.end(), [](auto& b) { return b.second->secrets() != nullptr; })
                   ? this
                   : nullptr;
    }
    certificate_mapper* certificates() noexcept override {
        return std::any_of(backends.begin(), backends.end(),
                           [](auto& b) { return b.second->certificates() != nullptr; })
                   ? this
                   : nullptr;
    }
    class authorizer* authorization() noexcept override {
        return this;
    }
    token_verifier* tokens() noexcept override {
        return std::any_of(backends.begin(), backends.end(), [](auto& b) { return b.second->tokens() != nullptr; })
                   ? this
                   : nullptr;
    }

    asio::awaitable<secret_result> stored_secret(std::string_view user, secret_kind kind) override {
        std::optional<secret_result> undecided;  // the first backend that could not decide: what it asks to say
        for (auto& [name, backend] : backends) {
            secret_provider* provider = backend->secrets();
            if (provider == nullptr) {
                continue;
            }
            auto call = [&] { return provider->stored_secret(user, kind); };
            auto guarded = co_await barrier::guard(name, "stored_secret", "answering tempfail", call);
            secret_result r = guarded ? std::move(*guarded) : secret_result{auth_status::tempfail, {}, {}};
            if (r.status == auth_status::ok) {
                co_return r;
            }
            if (r.status == auth_status::tempfail && !undecided) {
                undecided = secret_result{auth_status::tempfail, {}, {}, std::move(r.tempfail_reply)};
            }
        }
        co_return undecided.value_or(secret_result{auth_status::rejected, {}, {}});
    }

    asio::awaitable<auth_result> map_certificate(const tls::peer_certificate& certificate) override {
        co_return co_await ask(
            [&](auth_backend& b) -> asio::awaitable<auth_result> {
                if (certificate_mapper* mapper = b.certificates()) {
                    co_return co_await mapper->map_certificate(certificate);
                }
                co_return auth_result{auth_status::rejected, {}, "no certificate mapping"};
            },
            "map_certificate");
    }

    asio::awaitable<auth_result> verify_token(std::string_view token, std::string_view requested_user) override {
        co_return co_await ask(
            [&](auth_backend& b) -> asio::awaitable<auth_result> {
                if (token_verifier* verifier = b.tokens()) {
                    co_return co_await verifier->verify_token(token, requested_user);
                }
                co_return auth_result{auth_status::rejected, {}, "no token verification"};
            },
            "verify_token");
    }
    // The first verifier's: one provider is the usual case, and a client can follow only one. A plugin that
    // throws here only loses its hint.
    std::string token_scope() const override {
        try {
            const token_verifier* v = first_verifier();
            return v != nullptr ? v->token_scope() : std::string();
        } catch (...) {
            return {};
        }
    }
    std::string openid_configuration() const override {
        try {
            const token_verifier* v = first_verifier();
            return v != nullptr ? v->openid_configuration() : std::string();
        } catch (...) {
            return {};
        }
    }

    asio::awaitable<bool> may_act_as(std::string_view authenticated, std::string_view requested) override {
        if (authenticated == requested) {
            co_return true;
        }
        for (auto& [name, backend] : backends) {
            if (class authorizer* a = backend->authorization()) {
                auto call = [&] { return a->may_act_as(authenticated, requested); };
                const auto may = co_await barrier::guard(name, "may_act_as", "answering no", call);
                if (may.value_or(false)) {
                    co_return true;
                }
            }
        }
        co_return false;
    }

  private:
    const token_verifier* first_verifier() const {
        for (const auto& b : backends) {
            if (const token_verifier* v = b.second->tokens()) {
                return v;
            }
        }
        return nullptr;
    }

    template <class Call>
    asio::awaitable<auth_result> ask(Call call, const char* what) {
        std::optional<auth_result> undecided;  // the first backend that could not decide: what it asks to say
        for (auto& [name, entry] : backends) {
            auth_backend& backend = *entry;  // a lambda may not capture a structured binding (clang 14)
            auto attempt = [&] { return call(backend); };
            auto guarded = co_await barrier::guard(name, what, "answering tempfail", attempt);
            auth_result r = guarded ? std::move(*guarded) : auth_result{auth_status::tempfail, {}, {}};
            if (r.status == auth_status::ok) {
                co_return r;
            }
            if (r.status == auth_status::tempfail && !undecided) {
                undecided = auth_result{auth_status::tempfail, {}, {}, std::move(r.tempfail_reply)};
            }
        }
        co_return undecided.value_or(auth_result{auth_status::rejected, {}, {}});
    }
};

}  // namespace

struct host::impl : host_view {
    host_options options;
    std::vector<instance> instances;  // in initialisation order
    auth_chain chain;
    std::shared_ptr<mailstore> the_store;
    std::vector<std::pair<std::string, std::shared_ptr<hook>>> hooks;
    std::set<std::string, std::less<>> initialised;  // init() returned; kept when a later failure unloads them

    auth_backend& auth() override { return chain; }
    const std::string& state_dir() const override { return options.state_dir; }
    bool checking() const override { return options.checking; }

    candidate find(const load_request& request) const;
    void shutdown_all() noexcept;
    // After the instances are made: the store (behind the fault barrier), the auth chain and the hooks, each
    // from the plugins of its kind, in the configured order.
    void assign(const std::vector<std::string>& requested_order);
};

candidate host::impl::find(const load_request& request) const {
    candidate c;
    c.name = request.name;
    c.config = request.config;
    if (const auto linked = find_linked(request.name); linked.descriptor != nullptr) {
        c.descriptor = linked.descriptor;
        c.factory = linked.factory;
        c.origin = "linked-in";
    } else {
        const std::string file = "mailwright-" + request.name + ".so";
        std::filesystem::path path;
        for (const auto& dir : options.search_path) {
            if (std::filesystem::exists(dir / file)) {
                path = dir / file;
                break;
            }
        }
        if (path.empty()) {
            std::vector<std::string> dirs;
            for (const auto& dir : options.search_path) {
                dirs.push_back(dir.string());
            }
            throw load_error(
                fmt::format("plugin '{}': no {} in the plugin search path ({}), and no linked-in plugin "
                            "of that name",
                            request.name, file, dirs.empty() ? "empty" : fmt::format("{}", fmt::join(dirs, ", "))));
        }
        c.origin = path.string();
        try {
            // RTLD_LOCAL: one plugin's symbols never satisfy another's; RTLD_NOW: a missing symbol is an error
            // now, at start, not a crash in the middle of a session.
            // Unloaded only once no offloaded work is in the blocking pool and none in the compute pool: that
            // work runs this library's code (io::offload and io::compute are templates), up to the very end of
            // its job.
            c.library = library_ptr(new boost::dll::shared_library(
                                        path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local),
                                    [](boost::dll::shared_library* library) {
                                        io::wait_blocking_idle();
                                        io::wait_compute_idle();
                                        delete library;
                                    });
        } catch (const std::exception& e) {
            throw load_error(fmt::format("{}: cannot be loaded: {}", c.origin, e.what()));
        }
        if (!c.library->has("mailwright_plugin_descriptor")) {
            throw load_error(
                fmt::format("{}: not a Mailwright plugin (it exports no mailwright_plugin_descriptor)", c.origin));
        }
        c.descriptor = &c.library->get<const mailwright_plugin_info>("mailwright_plugin_descriptor");
    }
    const auto& d = *c.descriptor;
    if (d.abi == nullptr || std::string_view(d.abi) != MAILWRIGHT_PLUGIN_ABI) {
        const std::string_view theirs = d.abi ? d.abi : "";
        throw load_error(fmt::format("{}: plugin '{}' is for ABI \"{}\" (we have \"{}\"): {}; {}", c.origin,
                                     request.name, theirs, MAILWRIGHT_PLUGIN_ABI,
                                     abi_difference(theirs, MAILWRIGHT_PLUGIN_ABI),
                                     abi_remedy(theirs, MAILWRIGHT_PLUGIN_ABI)));
    }
    if (d.name == nullptr || request.name != d.name) {
        throw load_error(fmt::format("{}: the library calls itself '{}', but it was loaded as '{}'", c.origin,
                                     d.name ? d.name : "", request.name));
    }
    const auto k = parse_kind(d.kind ? d.kind : "");
    if (!k) {
        throw load_error(
            fmt::format("{}: plugin '{}' has an unknown kind \"{}\"", c.origin, request.name, d.kind ? d.kind : ""));
    }
    c.kind = *k;
    if (c.library) {
        if (!c.library->has("mailwright_plugin_create")) {
            throw load_error(
                fmt::format("{}: plugin '{}' exports no factory (mailwright_plugin_create)", c.origin, request.name));
        }
        c.factory = &c.library->get_alias<factory_function>("mailwright_plugin_create");
    }
    return c;
}

namespace {

// Makes and initialises the plugin `c` describes. Whatever the factory or init() throws, of whatever type,
// becomes a load_error that names the plugin.
std::shared_ptr<plugin_base> make_instance(const candidate& c, host_view& view) {
    plugin_base* raw = nullptr;
    try {
        raw = c.factory();
    } catch (...) {
        throw load_error(fmt::format("{}: plugin '{}' failed to construct: {}", c.origin, c.name,
                                     barrier::describe(std::current_exception())));
    }
    if (raw == nullptr || raw->kind() != c.kind) {
        delete raw;
        throw load_error(fmt::format("{}: plugin '{}' did not make a {} plugin", c.origin, c.name, to_string(c.kind)));
    }
    std::shared_ptr<plugin_base> object(raw, [library = c.library](plugin_base* p) { delete p; });
    try {
        raw->init(*c.config, view);
    } catch (...) {
        throw load_error(fmt::format("{}: plugin '{}' failed to initialise: {}", c.origin, c.name,
                                     barrier::describe(std::current_exception())));
    }
    return object;
}

}  // namespace

void host::impl::shutdown_all() noexcept {
    hooks.clear();
    the_store.reset();
    chain.backends.clear();
    for (auto it = instances.rbegin(); it != instances.rend(); ++it) {
        barrier::guard_now(it->source.name, "shutdown", "going on with the next", [&] { it->object->shutdown(); });
    }
    // Objects are destroyed in reverse order too; each one's deleter releases its library last.
    while (!instances.empty()) {
        instances.pop_back();
    }
}

host::host(host_options options) : impl_(std::make_unique<impl>()) { impl_->options = std::move(options); }

host::~host() { impl_->shutdown_all(); }

namespace {

// Dependency order (depth first), with missing dependencies and cycles reported by name.
std::vector<std::string> dependency_order(const std::map<std::string, candidate>& found,
                                          const std::vector<std::string>& requested_order) {
    std::vector<std::string> order;
    std::set<std::string> done;
    std::vector<std::string> path;
    std::function<void(const std::string&)> visit = [&](const std::string& name) {
        if (done.count(name) != 0) {
            return;
        }
        if (std::find(path.begin(), path.end(), name) != path.end()) {
            path.push_back(name);
            throw load_error(fmt::format("plugin dependencies form a cycle: {}", fmt::join(path, " -> ")));
        }
        path.push_back(name);
        const auto& c = found.at(name);
        for (const char* const* dep = c.descriptor->dependencies; dep != nullptr && *dep != nullptr; ++dep) {
            if (found.count(*dep) == 0) {
                throw load_error(
                    fmt::format("{}: plugin '{}' depends on '{}', which is not configured (add a "
                                "[plugin.{}] table)",
                                c.origin, name, *dep, *dep));
            }
            visit(*dep);
        }
        path.pop_back();
        done.insert(name);
        order.push_back(name);
    };
    for (const auto& name : requested_order) {
        visit(name);
    }
    return order;
}

}  // namespace

void host::load(const std::vector<load_request>& requests) {
    auto& m = *impl_;
    std::map<std::string, candidate> found;
    std::vector<std::string> requested_order;
    for (const auto& request : requests) {
        found.emplace(request.name, m.find(request));
        requested_order.push_back(request.name);
    }
    const auto order = dependency_order(found, requested_order);
    try {
        for (const auto& name : order) {
            candidate c = found.at(name);
            auto object = make_instance(c, m);
            m.initialised.insert(name);
            spdlog::info("plugin={} kind={} version={} loaded from {}", name, to_string(c.kind),
                         c.descriptor->version ? c.descriptor->version : "?", c.origin);
            m.instances.push_back({std::move(c), std::move(object)});
        }
        m.assign(requested_order);
    } catch (...) {
        m.shutdown_all();
        throw;
    }
}

void host::impl::assign(const std::vector<std::string>& requested_order) {
    std::map<std::string, std::shared_ptr<plugin_base>> by_name;
    std::vector<std::string> auth_names;
    std::vector<std::string> store_names;
    for (const auto& i : instances) {
        by_name[i.source.name] = i.object;
        if (i.source.kind == plugin_kind::auth) {
            auth_names.push_back(i.source.name);
        } else if (i.source.kind == plugin_kind::mailstore) {
            store_names.push_back(i.source.name);
        }
    }
    if (store_names.size() > 1) {
        throw load_error(fmt::format("several mailstore plugins are configured ({}); a server uses exactly one",
                                     fmt::join(store_names, ", ")));
    }
    if (store_names.size() == 1) {
        the_store = guard_store(store_names.front(), std::static_pointer_cast<mailstore>(by_name[store_names.front()]));
    }
    std::vector<std::string> auth_order = options.auth_order;
    if (auth_order.empty()) {
        if (auth_names.size() > 1) {
            throw load_error(
                fmt::format("several auth plugins are configured ({}): list the order to ask them in, "
                            "[plugins] auth = [...]",
                            fmt::join(auth_names, ", ")));
        }
        auth_order = auth_names;
    }
    for (const auto& name : auth_order) {
        auto it = by_name.find(name);
        if (it == by_name.end() || it->second->kind() != plugin_kind::auth) {
            throw load_error(fmt::format("[plugins] auth names '{}', which is not a configured auth plugin", name));
        }
        chain.backends.emplace_back(name, std::static_pointer_cast<auth_backend>(it->second));
    }
    std::vector<std::string> hook_order = options.hook_order;
    if (hook_order.empty()) {
        for (const auto& name : requested_order) {
            if (by_name[name]->kind() == plugin_kind::hook) {
                hook_order.push_back(name);
            }
        }
    }
    for (const auto& name : hook_order) {
        auto it = by_name.find(name);
        if (it == by_name.end() || it->second->kind() != plugin_kind::hook) {
            throw load_error(fmt::format("[plugins] hooks names '{}', which is not a configured hook plugin", name));
        }
        hooks.emplace_back(name, std::static_pointer_cast<hook>(it->second));
    }
}

bool host::initialised(std::string_view name) const { return impl_->initialised.count(name) != 0; }

auth_backend& host::auth() { return impl_->chain; }

std::shared_ptr<mailstore> host::store() const { return impl_->the_store; }

std::string_view to_string(smtp_phase phase) noexcept {
    static constexpr std::string_view names[] = {"connect", "helo", "mail", "rcpt", "data", "queue"};
    return names[static_cast<std::size_t>(phase)];
}

std::string_view to_string(pop3_event event) noexcept {
    static constexpr std::string_view names[] = {"login", "retrieve", "remove"};
    return names[static_cast<std::size_t>(event)];
}

namespace {

// Asks each hook in order; the first that does not accept decides, and says so in the log with the session.
template <class Call>
asio::awaitable<reply> run_hooks(std::vector<std::pair<std::string, std::shared_ptr<hook>>>& hooks,
                                 const event_context& context, std::string_view event, Call call) {
    for (auto& [name, entry] : hooks) {
        hook& h = *entry;  // a lambda may not capture a structured binding (clang 14)
        auto attempt = [&] { return call(h); };
        auto v = co_await barrier::guard(name, "hook", "answering tempfail", attempt);
        if (!v) {
            co_return reply::tempfail("temporary failure, try again later");
        }
        if (!v->ok()) {
            spdlog::info("session={} plugin={} refused {} {} ({}): {}", context.session, name, event,
                         v->temporary() ? "for now" : "for good", context.argument, v->text);
            co_return std::move(*v);
        }
    }
    co_return reply::accept();
}

}  // namespace

asio::awaitable<reply> host::run_smtp_hooks(smtp_phase phase, const event_context& context) {
    auto call = [&](hook& h) { return h.on_smtp(phase, context); };
    co_return co_await run_hooks(impl_->hooks, context, to_string(phase), call);
}

asio::awaitable<reply> host::run_pop3_hooks(pop3_event event, const event_context& context) {
    auto call = [&](hook& h) { return h.on_pop3(event, context); };
    co_return co_await run_hooks(impl_->hooks, context, to_string(event), call);
}

asio::awaitable<resolution> host::resolve_recipient(std::string_view local_part, std::string_view domain,
                                                    const event_context& context) {
    for (auto& [name, entry] : impl_->hooks) {
        hook& h = *entry;  // a lambda may not capture a structured binding (clang 14)
        auto attempt = [&] { return h.resolve(local_part, domain, context); };
        auto r = co_await barrier::guard(name, "resolve", "answering tempfail", attempt);
        if (!r) {
            co_return resolution::refuse(reply::tempfail());
        }
        if (!r->answer.ok()) {
            spdlog::info("session={} plugin={} refused recipient {} ({}): {}", context.session, name,
                         r->answer.temporary() ? "for now" : "for good", context.argument, r->answer.text);
        }
        if (!r->answer.ok() || !r->users.empty()) {
            co_return std::move(*r);
        }
    }
    co_return resolution::not_mine();
}

pipeline::filter_list host::make_filters(const event_context& context) {
    pipeline::filter_list filters;
    for (auto& [name, entry] : impl_->hooks) {
        hook& h = *entry;
        std::unique_ptr<message_filter> made;
        const bool returned =
            barrier::guard_now(name, "filter", "refusing the message for now", [&] { made = h.filter(context); });
        if (!returned) {
            // A filter that cannot be made cannot see the message through: the pipeline refuses it for now.
            filters.push_back({name, nullptr});
        } else if (made) {
            filters.push_back({name, std::move(made)});
        }
    }
    return filters;
}

bool host::provides_service(std::string_view name) const {
    return std::any_of(impl_->instances.begin(), impl_->instances.end(), [&](const instance& i) {
        return i.source.name == name && i.source.kind == plugin_kind::service;
    });
}

std::shared_ptr<server::service> host::make_service(std::string_view name) {
    for (auto& i : impl_->instances) {
        if (i.source.name == name && i.source.kind == plugin_kind::service) {
            std::shared_ptr<server::service> made;
            try {
                made = std::static_pointer_cast<service_plugin>(i.object)->make_service();
            } catch (...) {
                throw load_error(fmt::format("plugin '{}' failed to make its service: {}", name,
                                             barrier::describe(std::current_exception())));
            }
            if (!made) {
                return nullptr;
            }
            // The service object's code lives in the plugin's library: keep the library (through the plugin
            // object, whose deleter holds it) alive for as long as the service is.
            auto* raw = made.get();
            return std::shared_ptr<server::service>(raw, [made = std::move(made), owner = i.object](auto*) mutable {
                made.reset();
                owner.reset();
            });
        }
    }
    return nullptr;
}

std::vector<loaded_plugin> host::loaded() const {
    std::vector<loaded_plugin> out;
    for (const auto& i : impl_->instances) {
        out.push_back({i.source.name, i.source.kind, i.source.descriptor->version ? i.source.descriptor->version : "",
                       i.source.origin});
    }
    return out;
}

}  // namespace mailwright::plugin
