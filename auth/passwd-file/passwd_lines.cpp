// The lines of a passwd-file in Dovecot's format (passwd_lines.hpp), as Dovecot 2.3 reads them
// (src/auth/db-passwd-file.c): fields split at every ':', the extra fields joined again with ':'.
#include "passwd_lines.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <mailwright/sasl/password.hpp>
#include <span>

namespace mailwright::passwd_file {

namespace {

constexpr std::size_t extra_field = 7;  // user, password, uid, gid, gecos, home, shell, then the extra fields

// Extra fields that decide who may log in, as what, or where to: this plugin answers only "is this the
// password", so it cannot do what they ask, and ignoring them would let in a user Dovecot kept out.
constexpr std::string_view refused_fields[] = {"nologin", "noauthenticate", "proxy",          "proxy_maybe",
                                               "host",    "user",           "login_user",     "destuser",
                                               "master",  "pass",           "allow_real_nets"};
// Extra fields that change nothing here: the failure delay stays, and a reason needs nologin.
constexpr std::string_view harmless_fields[] = {"nodelay", "reason"};

std::vector<std::string_view> split(std::string_view text, char sep) {
    std::vector<std::string_view> out;
    for (std::size_t start = 0;;) {
        const auto end = text.find(sep, start);
        out.push_back(text.substr(start, end == std::string_view::npos ? end : end - start));
        if (end == std::string_view::npos) {
            return out;
        }
        start = end + 1;
    }
}

std::string join(std::vector<std::string_view>::const_iterator first,
                 std::vector<std::string_view>::const_iterator last, char sep) {
    std::string out;
    for (auto it = first; it != last; ++it) {
        out += (it == first ? "" : std::string(1, sep)) + std::string(*it);
    }
    return out;
}

bool contains(std::span<const std::string_view> list, std::string_view key) {
    return std::find(list.begin(), list.end(), key) != list.end();
}

// The older Mailwright form of SCRAM keys, {SCRAM-SHA-256}iterations:salt:storedkey:serverkey, has colons:
// fields 1 to 4 are then one password (Dovecot's form has commas, and no other scheme has a ':').
void join_old_scram(std::vector<std::string_view>& fields, std::string& joined) {
    if (fields.size() < 5) {
        return;
    }
    const auto close = fields[1].find('}');
    if (!fields[1].starts_with('{') || close == std::string_view::npos ||
        sasl::parse_scheme(fields[1].substr(1, close - 1)) != sasl::scheme::scram_sha_256 ||
        fields[1].find(',') != std::string_view::npos) {
        return;
    }
    joined = join(fields.begin() + 1, fields.begin() + 5, ':');
    fields.erase(fields.begin() + 2, fields.begin() + 5);
    fields[1] = joined;
}

// Why the extra fields make the line unusable ("" when they do not); what is ignored goes to `ignored`.
std::string judge_extra_fields(std::string_view extra, std::vector<std::string>& ignored) {
    for (auto token : split(extra, ' ')) {
        if (token.empty()) {
            continue;
        }
        const auto key = token.substr(0, token.find('='));
        if (key.starts_with("userdb_") || contains(harmless_fields, key)) {
            continue;
        }
        if (key == "nopassword") {
            return "extra field nopassword (any password, or none, logs in) is refused: Mailwright never lets a "
                   "user in without checking a password; give the user one (`mailwrightd passwd USER`)";
        }
        if (key == "allow_nets") {
            return "extra field allow_nets is refused: this plugin does not see the client's address, so it "
                   "cannot keep the user to those networks, and ignoring it would let the user in from anywhere; "
                   "remove allow_nets to allow that";
        }
        if (contains(refused_fields, key)) {
            return fmt::format(
                "extra field {} is refused: it changes who may log in, as whom or where to, and "
                "this plugin only checks passwords; ignoring it would let in a user Dovecot kept out",
                key);
        }
        ignored.emplace_back(key);
    }
    return {};
}

struct line_result {
    std::string user, stored, problem;
    std::vector<std::string> ignored;
};

line_result read_line(std::string_view line, std::string_view default_scheme) {
    line_result r;
    auto fields = split(line, ':');
    std::string old_scram;
    join_old_scram(fields, old_scram);
    r.user = fields[0];
    const std::string_view password = fields.size() > 1 ? fields[1] : std::string_view();
    if (r.user.empty()) {
        r.problem = "the user name is empty";
        return r;
    }
    // Dovecot's older form: an empty eighth field, and userdb's mail location after it (ignored here).
    const bool old_form = fields.size() > extra_field && fields[extra_field].empty();
    if (fields.size() > extra_field && !old_form) {
        r.problem = judge_extra_fields(join(fields.begin() + extra_field, fields.end(), ':'), r.ignored);
        if (!r.problem.empty()) {
            return r;
        }
    }
    r.stored = !password.empty() && !password.starts_with('{')
                   ? fmt::format("{{{}}}{}", default_scheme, password)  // Dovecot's default_pass_scheme
                   : std::string(password);
    r.problem = sasl::stored_problem(r.stored);
    if (r.problem.empty()) {
        r.stored = sasl::canonical(r.stored);
    } else if (!password.empty() && !password.starts_with('{')) {
        r.problem += fmt::format(" (a password without {{SCHEME}} is read as default_scheme = \"{}\")", default_scheme);
    }
    return r;
}

}  // namespace

lines read_lines(std::istream& in, const std::string& path, std::string_view default_scheme) {
    lines out;
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
        if (line.ends_with('\r')) {
            line.pop_back();
        }
        if (line.empty() || line.front() == '#') {
            continue;
        }
        const auto where = fmt::format("{}:{}: ", path, number);
        auto r = read_line(line, default_scheme);
        if (r.problem.empty() && out.entries.count(r.user) != 0) {
            r.problem = fmt::format("user '{}' appears twice", r.user);
        }
        if (!r.problem.empty()) {
            out.problems.push_back(where + r.problem);
            continue;
        }
        if (!r.ignored.empty()) {
            out.warnings.push_back(fmt::format("{}extra fields ignored (this plugin does not use them): {}", where,
                                               fmt::join(r.ignored, " ")));
        }
        if (r.stored.starts_with("{PLAIN}")) {
            ++out.plaintext;
        }
        out.entries.emplace(std::move(r.user), std::move(r.stored));
    }
    return out;
}

}  // namespace mailwright::passwd_file
