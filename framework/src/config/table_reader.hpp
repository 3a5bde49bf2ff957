// Reading one TOML table with every mistake located: the reader behind each part of the configuration
// (private to src/config). The same reader is the section_reader a service reads its own table through.
#pragma once

#include <toml++/toml.h>
#include <chrono>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "mailwright/config/config.hpp"
#include "mailwright/config/section.hpp"

namespace mailwright::config {

// Collects the errors of one file.
struct context {
    std::string file;
    std::vector<error> errors;
    bool absolute_paths = false;  // schema::absolute_paths

    void add(const toml::source_region& where, std::string message);
};

// Reads one TOML table. Every key must be read by exactly one getter (or declared known()); finish() reports
// the rest as unknown, with the nearest known key as a suggestion.
class table_reader final : public section_reader {
  public:
    // `name` is how messages call the table: "[server]", "[listener.pop3]".
    table_reader(const toml::table& table, std::string name, context& ctx);
    // A table the file does not have: what is reported about it points at `home`, the table it belongs in.
    table_reader(const toml::table& table, std::string name, context& ctx, const toml::source_region& home);

    void invalid(std::string_view key, std::string_view what_would_be_right) override;

    // A key that names a file or directory: read as string() reads it, and when the file must give absolute
    // paths (schema::absolute_paths) a relative one is reported where it stands.
    bool path(std::string_view key, std::string& out);

    // The value of a key, read or not; nullptr when absent.
    const toml::node* node_of(std::string_view key) const { return table_.get(key); }
    // Where the key itself stands (values such as arrays do not always carry a position), or the table's.
    toml::source_region key_source(std::string_view key) const;
    const toml::source_region& home() const { return home_; }
    context& errors() { return ctx_; }

    // Declares a key that is read elsewhere (a sub-table), so finish() does not report it.
    void known(std::string_view key) { take(key); }
    void finish();

  protected:
    std::optional<std::string> get_string(std::string_view key) override;
    std::optional<bool> get_boolean(std::string_view key) override;
    std::optional<std::vector<std::string>> get_strings(std::string_view key) override;
    std::optional<std::int64_t> get_integer(std::string_view key, std::int64_t min, std::int64_t max) override;
    std::optional<std::chrono::milliseconds> get_duration(std::string_view key, std::chrono::milliseconds min,
                                                          std::chrono::milliseconds max) override;
    std::optional<std::size_t> get_choice(std::string_view key, std::span<const std::string_view> allowed) override;

  private:
    const toml::node* take(std::string_view key);
    // Where a wrong value is reported: where it stands, or its key's position when toml++ gave it none.
    toml::source_region where(std::string_view key, const toml::node& value) const;

    const toml::table& table_;
    std::string name_;
    context& ctx_;
    toml::source_region home_;
    std::set<std::string, std::less<>> seen_;
    std::vector<std::string> seen_all_;
};

}  // namespace mailwright::config
