// aliases: a virtual alias map in the manner of Postfix's virtual(5): addresses that stand for local users
// and other addresses, per-domain catch-alls, recipient delimiters ("user+tag@" is user's) and the
// postmaster of every local domain. Recipients are resolved at RCPT, so an unknown one hears 550 5.1.1
// before DATA, and an alias loop 550 5.4.6 (RFC 3463: routing loop detected).
//
//   [plugin.aliases]
//   map = "/etc/mailwright/virtual"   # alias_map.hpp has the format; re-read when it changes
//   entries = ["abuse@example.org  alice"]
//   delimiters = "+"                  # recipient delimiters; "" for none
//
// The users an address resolves to are checked by the framework with the auth backend, each one: an alias
// to an unknown user refuses the recipient (550 5.1.1) rather than lose its copy.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <mailwright/io/offload.hpp>
#include <mailwright/plugin/hook.hpp>
#include <memory>
#include <string>
#include <vector>

#include "map_source.hpp"
#include "resolve.hpp"

namespace {

using namespace mailwright;

// A recipient delimiter must not be a character that already means something in an address or a map line.
bool good_delimiters(const std::string& d) {
    return std::all_of(d.begin(), d.end(), [](char c) {
        return c > ' ' && c < 0x7f && c != '@' && c != ',' && c != '"' && c != '#' && c != '\\';
    });
}

std::string joined(const std::vector<std::string>& users) {
    std::string out;
    for (const auto& u : users) {
        out += out.empty() ? "" : ",";
        out += u;
    }
    return out;
}

class aliases_hook final : public plugin::hook {
  public:
    void init(plugin::settings& config, plugin::host_view&) override {
        aliases::map_recipe recipe;
        recipe.path = config.string("map").value_or("");
        recipe.entries = config.strings("entries").value_or(std::vector<std::string>{});
        recipe.settings.delimiters = config.string("delimiters").value_or("+");
        recipe.settings.ignore_local_part_case = config.boolean("ignore_local_part_case").value_or(false);
        recipe.settings.max_depth = static_cast<std::size_t>(config.integer("max_depth", 1, 100).value_or(20));
        recipe.settings.max_users = static_cast<std::size_t>(config.integer("max_users", 1, 100000).value_or(1000));
        if (!good_delimiters(recipe.settings.delimiters)) {
            config.invalid("delimiters", "printable ASCII characters other than @ , \" # \\, e.g. \"+\" or \"+-\"");
            return;
        }
        if (recipe.path.empty() && recipe.entries.empty()) {
            config.invalid("map", "the alias map to read, e.g. map = \"/etc/mailwright/virtual\" (or entries)");
            return;
        }
        // An inline entry that is wrong is reported at `entries`, where the configuration says it.
        aliases::alias_map check(recipe.settings);
        for (std::size_t i = 0; i < recipe.entries.size(); ++i) {
            if (auto wrong = check.add(recipe.entries[i], "entries[" + std::to_string(i) + "]")) {
                config.invalid("entries", "entry " + std::to_string(i) + ": " + *wrong);
                return;
            }
        }
        // A bad line in the file throws "file:line: what": the daemon (and --check-config) stops with it.
        source_ = std::make_shared<aliases::map_source>(std::move(recipe));
        spdlog::info("plugin=aliases {} entries{}{}", source_->map()->size(), source_->path().empty() ? "" : " from ",
                     source_->path());
    }

    asio::awaitable<plugin::resolution> resolve(std::string_view local_part, std::string_view domain,
                                                const plugin::event_context& context) override {
        if (!source_) {
            co_return plugin::resolution::not_mine();
        }
        if (source_->due(std::chrono::steady_clock::now())) {
            auto look = [source = source_] { return source->refresh(); };
            co_await io::offload(std::move(look));
        }
        co_return answer(local_part, domain, context);
    }

  private:
    plugin::resolution answer(std::string_view local_part, std::string_view domain,
                              const plugin::event_context& context) const {
        using kind = aliases::resolved::kind;
        const auto map = source_->map();
        const auto r = aliases::resolve(*map, local_part, domain);
        const auto address = context.argument;
        switch (r.what) {
            case kind::not_mine:
                return plugin::resolution::not_mine();
            case kind::users:
                spdlog::debug("session={} plugin=aliases <{}> -> {}", context.session, address, joined(r.users));
                return plugin::resolution::to(r.users);
            case kind::loop:
                spdlog::error("session={} plugin=aliases alias loop for <{}>: {}", context.session, address, r.trail);
                return refusal(550, "5.4.6", address, "alias loop");
            case kind::too_deep:
                spdlog::error("session={} plugin=aliases aliases for <{}> nest deeper than {}: {}", context.session,
                              address, map->settings().max_depth, r.trail);
                return refusal(550, "5.4.6", address, "aliases nested too deep");
            case kind::too_many:
                spdlog::error("session={} plugin=aliases <{}> reaches more than {} users: {}", context.session, address,
                              map->settings().max_users, r.trail);
                return refusal(550, "5.5.3", address, "alias reaches too many mailboxes");
        }
        return plugin::resolution::not_mine();
    }

    static plugin::resolution refusal(std::uint16_t code, const char* enhanced, std::string_view address,
                                      const char* why) {
        return plugin::resolution::refuse(
            plugin::reply::smtp(code, enhanced, fmt::format("<{}>: Recipient address rejected: {}", address, why)));
    }

    std::shared_ptr<aliases::map_source> source_;
};

}  // namespace

MAILWRIGHT_PLUGIN("aliases", "hook", "1.0", aliases_hook)
