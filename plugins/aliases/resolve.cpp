// Resolution through the aliases map (resolve.hpp): a depth-first walk that keeps the addresses on the way
// (a loop is one of them reached again) and the addresses already expanded (reached again elsewhere, they
// add nothing: one copy per user, and no walk longer than the map).
#include "resolve.hpp"

#include <algorithm>
#include <unordered_set>

namespace mailwright::aliases {

namespace {

// The entry an address finds, in virtual(5)'s order; null if none.
const entry* lookup(const alias_map& map, const address& a) {
    const auto base = map.stripped(a.local);
    const bool extended = base.size() != a.local.size();
    if (!a.domain.empty()) {
        if (const auto* e = map.find(map.key_of(a.local, a.domain))) {
            return e;
        }
        if (extended) {
            if (const auto* e = map.find(map.key_of(base, a.domain))) {
                return e;
            }
        }
    }
    if (const auto* e = map.find(map.key_of(a.local, {}))) {
        return e;
    }
    if (extended) {
        if (const auto* e = map.find(map.key_of(base, {}))) {
            return e;
        }
    }
    if (a.domain.empty() || map.key_of(a.local, {}) == "postmaster") {
        return nullptr;  // the catch-all never takes postmaster (RFC 5321 4.5.1): that is the server's own
    }
    return map.find(map.key_of({}, a.domain));  // "@domain"
}

class expansion {
  public:
    explicit expansion(const alias_map& map) : map_(map), limits_(map.settings()) {}

    // Adds the users `a` reaches; false once the resolution has failed (result().what says how).
    bool expand(const address& a, const entry& found, std::size_t depth) {
        const auto id = map_.key_of(a.local, a.domain);
        path_.push_back(id + " (" + found.origin + ")");
        ids_.push_back(id);
        for (const auto& t : found.targets) {
            if (t.what == target::kind::user) {
                if (!add_user(t.user)) {
                    return false;
                }
                continue;
            }
            const address next = t.what == target::kind::domain ? address{a.local, t.to.domain} : t.to;
            if (!follow(next, id, depth + 1)) {
                return false;
            }
        }
        path_.pop_back();
        ids_.pop_back();
        done_.insert(id);
        return true;
    }

    resolved& result() noexcept { return result_; }

  private:
    bool follow(const address& next, const std::string& from, std::size_t depth) {
        const auto id = map_.key_of(next.local, next.domain);
        if (id == from) {
            return add_user(map_.stripped(next.local));  // "alice@x  alice@x, archive": alice keeps her copy
        }
        if (std::find(ids_.begin(), ids_.end(), id) != ids_.end()) {
            return fail(resolved::kind::loop, id);
        }
        if (done_.contains(id)) {
            return true;
        }
        const entry* e = lookup(map_, next);
        if (e == nullptr) {
            done_.insert(id);
            return add_user(map_.stripped(next.local));
        }
        if (depth > limits_.max_depth) {
            return fail(resolved::kind::too_deep, id);
        }
        return expand(next, *e, depth);
    }

    bool add_user(std::string_view user) {
        if (seen_.contains(std::string(user))) {
            return true;
        }
        if (result_.users.size() >= limits_.max_users) {
            return fail(resolved::kind::too_many, std::string(user));
        }
        seen_.emplace(user);
        result_.users.emplace_back(user);
        return true;
    }

    bool fail(resolved::kind what, const std::string& last) {
        result_.what = what;
        result_.users.clear();
        for (const auto& step : path_) {
            result_.trail += step + " -> ";
        }
        result_.trail += last;
        return false;
    }

    const alias_map& map_;
    const options& limits_;
    resolved result_{resolved::kind::users, {}, {}};
    std::vector<std::string> path_;  // the addresses on the way down, with the entries they found
    std::vector<std::string> ids_;   // the same, as keys
    std::unordered_set<std::string> done_;
    std::unordered_set<std::string> seen_;
};

}  // namespace

resolved resolve(const alias_map& map, std::string_view local_part, std::string_view domain) {
    const address a{std::string(local_part), std::string(domain)};
    const entry* e = lookup(map, a);
    if (e == nullptr) {
        const auto base = map.stripped(local_part);
        if (base.size() == local_part.size()) {
            return {};
        }
        return {resolved::kind::users, {std::string(base)}, {}};
    }
    expansion walk(map);
    walk.expand(a, *e, 0);
    return std::move(walk.result());
}

}  // namespace mailwright::aliases
