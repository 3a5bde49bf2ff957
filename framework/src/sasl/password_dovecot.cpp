// The stored password schemes Mailwright reads from Dovecot's passwd-files but never writes (password.hpp has
// the list), and the SCRAM-SHA-256 keys in Dovecot's comma form. Formats as Dovecot 2.3 writes and reads them
// (src/auth/password-scheme.c, password-scheme-crypt.c, password-scheme-pbkdf2.c, password-scheme-scram.c);
// the digests are wolfCrypt's (crypto.hpp), crypt(3) is libxcrypt's.
#include <crypt.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

#include "password_internal.hpp"

namespace mailwright::sasl::detail {

namespace {

// Above this a PBKDF2 or SCRAM count is not a cost anyone chose: a line with it would tie up a pool thread
// for minutes on every login (Dovecot's PBKDF2 default is 5,000 rounds, SCRAM's 4,096).
constexpr unsigned max_rounds = 10'000'000;

std::optional<unsigned> parse_count(std::string_view text) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value == 0 || value > max_rounds) {
        return std::nullopt;
    }
    return value;
}

// The crypt(3) prefixes a named scheme stands for; {CRYPT} takes any.
std::array<std::string_view, 3> prefixes(scheme s) {
    switch (s) {
        case scheme::sha512_crypt:
            return {"$6$"};
        case scheme::sha256_crypt:
            return {"$5$"};
        case scheme::md5_crypt:
            return {"$1$"};
        case scheme::blf_crypt:
            return {"$2y$", "$2b$", "$2a$"};
        case scheme::yescrypt:
            return {"$y$"};
        default:
            return {};
    }
}

// A whole hash, not just a setting: crypt_checksalt() reads only the method and salt, so a hash cut short
// would load and then refuse every password. The checksum after the last '$' has a fixed length per method.
struct shape {
    std::string_view prefix;
    std::size_t checksum;
};
constexpr shape shapes[] = {{"$1$", 22}, {"$5$", 43},  {"$6$", 86},  {"$y$", 43}, {"$gy$", 43},
                            {"$7$", 43}, {"$2a$", 53}, {"$2b$", 53}, {"$2y$", 53}};
constexpr std::size_t des_length = 13;  // traditional DES: 2 characters of salt, 11 of hash

bool crypt64(std::string_view text) {
    return std::all_of(text.begin(), text.end(),
                       [](unsigned char c) { return std::isalnum(c) || c == '.' || c == '/'; });
}

bool whole_hash(std::string_view hashed) {
    if (!hashed.starts_with('$') && !hashed.starts_with('_')) {
        return hashed.size() == des_length && crypt64(hashed);
    }
    for (const auto& s : shapes) {
        if (hashed.starts_with(s.prefix)) {
            const auto tail = hashed.substr(hashed.rfind('$') + 1);
            return hashed.size() > s.prefix.size() + s.checksum && tail.size() == s.checksum && crypt64(tail);
        }
    }
    return true;  // a method with no fixed shape here: crypt_checksalt() has judged it
}

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

}  // namespace

std::optional<bool> crypt_verify(std::string_view hashed, std::string_view password) {
    if (has_nul(password)) {
        return false;
    }
    crypt_data data{};
    const std::string pw(password);
    const std::string setting(hashed);
    const char* out = crypt_rn(pw.c_str(), setting.c_str(), &data, sizeof data);
    if (out == nullptr || out[0] == '*') {
        return std::nullopt;
    }
    return constant_time_equal(out, hashed);
}

std::string crypt_problem(scheme s, std::string_view hashed) {
    const auto wanted = prefixes(s);
    if (!wanted[0].empty() &&
        std::none_of(wanted.begin(), wanted.end(), [&](auto p) { return !p.empty() && hashed.starts_with(p); })) {
        return fmt::format(
            "a {{{}}} hash starts with {}; this one does not (a crypt(3) hash of another kind may be "
            "written {{CRYPT}})",
            scheme_name(s), wanted[0]);
    }
    const std::string setting(hashed);
    switch (crypt_checksalt(setting.c_str())) {
        case CRYPT_SALT_OK:
        case CRYPT_SALT_METHOD_LEGACY:  // DES and MD5-CRYPT: weak, but what the file has; Dovecot takes them
            return whole_hash(hashed) ? ""
                                      : "the hash is cut short or damaged (too short, too long, or characters "
                                        "crypt(3) never writes)";
        default:
            return hashed.empty() || hashed[0] == '!' || hashed[0] == '*'
                       ? "the password is empty or locked ('!' or '*'), so no password can match it"
                       : "crypt(3) (libxcrypt) does not know this kind of hash";
    }
}

std::optional<bool> salted_verify(digest d, std::string_view data, std::string_view password) {
    auto raw = base64_decode(data);
    if (!raw || raw->size() <= digest_size(d)) {
        return std::nullopt;
    }
    if (has_nul(password)) {  // Dovecot hashes strlen(password) octets
        return false;
    }
    const std::string_view stored(*raw);
    const std::string mine = hash(d, std::string(password) + std::string(stored.substr(digest_size(d))));
    return constant_time_equal(mine, stored.substr(0, digest_size(d)));
}

std::string salted_problem(digest d, std::string_view data) {
    const auto raw = base64_decode(data);
    if (!raw) {
        return "expected base64 of the digest followed by the salt";
    }
    if (raw->size() <= digest_size(d)) {
        return fmt::format("expected more than {} octets (the digest, then the salt); this has {}", digest_size(d),
                           raw->size());
    }
    return {};
}

namespace {

struct pbkdf2_fields {
    std::string_view salt;
    unsigned rounds = 0;
    std::string_view hex;
};

std::optional<pbkdf2_fields> parse_pbkdf2(std::string_view data) {
    if (!data.starts_with("$1$")) {
        return std::nullopt;
    }
    data.remove_prefix(3);
    const auto a = data.find('$');
    const auto b = a == std::string_view::npos ? a : data.find('$', a + 1);
    if (b == std::string_view::npos || data.find('$', b + 1) != std::string_view::npos) {
        return std::nullopt;
    }
    pbkdf2_fields f;
    f.salt = data.substr(0, a);
    const auto rounds = parse_count(data.substr(a + 1, b - a - 1));
    f.hex = data.substr(b + 1);
    const bool hex_ok = f.hex.size() == 2 * digest_size(digest::sha1) &&
                        std::all_of(f.hex.begin(), f.hex.end(), [](unsigned char c) { return std::isxdigit(c); });
    if (!rounds || !hex_ok) {
        return std::nullopt;
    }
    f.rounds = *rounds;
    return f;
}

}  // namespace

std::optional<bool> pbkdf2_verify(std::string_view data, std::string_view password) {
    const auto f = parse_pbkdf2(data);
    if (!f) {
        return std::nullopt;
    }
    if (has_nul(password)) {
        return false;
    }
    const std::string mine = hex(pbkdf2(digest::sha1, password, f->salt, f->rounds));
    return constant_time_equal(mine, lower(f->hex));
}

std::string pbkdf2_problem(std::string_view data) {
    if (parse_pbkdf2(data)) {
        return {};
    }
    return fmt::format("expected $1$salt$rounds$hash: rounds from 1 to {}, the hash 40 hex digits (PBKDF2-HMAC-SHA1)",
                       max_rounds);
}

std::optional<scram_keys> parse_scram(std::string_view data) {
    // Dovecot writes commas; older Mailwright files have colons. Base64 has neither, so the first one found
    // is the separator, and all three must be the same.
    const auto first = data.find_first_of(",:");
    if (first == std::string_view::npos) {
        return std::nullopt;
    }
    const char sep = data[first];
    const auto b = data.find(sep, first + 1);
    const auto c = b == std::string_view::npos ? b : data.find(sep, b + 1);
    if (c == std::string_view::npos || data.find_first_of(",:", c + 1) != std::string_view::npos) {
        return std::nullopt;
    }
    scram_keys k;
    const auto iterations = parse_count(data.substr(0, first));
    k.salt_b64 = data.substr(first + 1, b - first - 1);
    k.stored_b64 = data.substr(b + 1, c - b - 1);
    k.server_b64 = data.substr(c + 1);
    auto salt = base64_decode(k.salt_b64);
    const auto stored = base64_decode(k.stored_b64);
    const auto server = base64_decode(k.server_b64);
    const auto size = digest_size(digest::sha256);
    if (!iterations || !salt || salt->empty() || !stored || stored->size() != size || !server ||
        server->size() != size) {
        return std::nullopt;
    }
    k.iterations = *iterations;
    k.salt = std::move(*salt);
    return k;
}

std::string scram_problem(std::string_view data) {
    if (parse_scram(data)) {
        return {};
    }
    return fmt::format(
        "expected iterations,salt,storedkey,serverkey: iterations from 1 to {}, then base64, the keys of 32 "
        "octets each (what `doveadm pw -s SCRAM-SHA-256` and `mailwrightd passwd --scheme SCRAM-SHA-256` write)",
        max_rounds);
}

}  // namespace mailwright::sasl::detail
