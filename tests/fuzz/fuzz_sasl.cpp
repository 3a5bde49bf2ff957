// The server side of every SASL mechanism (mailwright/sasl/mechanism.hpp) driven by fuzzer-chosen client
// messages, against a small auth backend in this file. The invariant: an exchange succeeds only when the
// client's messages prove the credentials, checked here independently of the mechanism:
//  - PLAIN: authzid NUL authcid NUL password with the right password (RFC 4616);
//  - LOGIN: the user name, then its password;
//  - CRAM-MD5: "user hex(HMAC-MD5(secret, challenge))" for the challenge sent (RFC 2195);
//  - SCRAM-SHA-1/-256 and -PLUS: a client proof that only the password gives for this exchange's
//    AuthMessage, the channel binding that was asked for, and the server signature that matches (RFC 5802,
//    7677, 9266);
//  - EXTERNAL: only over TLS with a verified client certificate that maps to the user (RFC 4422 A).
// The identity acted as is the authenticated one or one it may act as; a temporary failure only comes from
// the backend ("broken"); nothing throws and every coroutine finishes.
//
// Input: byte 0 picks the mechanism, byte 1 the situation (bit 0: the first message is the initial
// response; bit 1: TLS is active; bit 2: a client certificate (CN=alice) was verified, unless bit 6 says it
// was not; bit 3: channel-binding data exists). The rest is the client's messages, separated by LF ('0'..'7' and
// '0'..'?' keep seeds text). The users are those of the RFC examples, so the RFCs' own dialogues are valid seeds.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "mailwright/plugin/auth.hpp"
#include "mailwright/sasl/crypto.hpp"
#include "mailwright/sasl/mechanism.hpp"
#include "mailwright/sasl/saslprep.hpp"
#include "mailwright/tls/peer.hpp"

namespace {

using namespace mailwright;
using plugin::auth_status;
using sasl::step;

constexpr unsigned iterations = 4096;

struct account {
    std::string password;
    std::string salt_sha1, salt_sha256;  // raw
};

// alice and bob; tim (RFC 2195, RFC 4616); Kurt (RFC 4616); user (RFC 5802, RFC 7677, with their salts).
const std::map<std::string, account, std::less<>>& accounts() {
    static const std::map<std::string, account, std::less<>> table{
        {"alice", {"secret", "alice-salt-1", "alice-salt-256"}},
        {"bob", {"hunter2", "bob-salt-1", "bob-salt-256"}},
        {"tim", {"tanstaaftanstaaf", "tim-salt-1", "tim-salt-256"}},
        {"Kurt", {"xipj3plmq", "Kurt-salt-1", "Kurt-salt-256"}},
        {"user",
         {"pencil", *sasl::base64_decode("QSXCR+Q6sek8bf92"), *sasl::base64_decode("W22ZaJ0SNY7soEsUEjb6gQ==")}},
    };
    return table;
}

// Who may act as whom (SASL authorization identities).
bool may_act_as(std::string_view authenticated, std::string_view requested) {
    return (authenticated == "bob" && requested == "alice") || (authenticated == "Kurt" && requested == "Ursel");
}

// The SCRAM keys, derived here from the password (what a client computes), not from the stored secret.
struct scram_keys {
    std::string client_key, stored_key, server_key, salt;
};

const scram_keys& keys_of(const std::string& user, sasl::digest d) {
    static std::map<std::pair<std::string, int>, scram_keys> cache;
    auto& k = cache[{user, static_cast<int>(d)}];
    if (k.client_key.empty()) {
        const auto& a = accounts().at(user);
        k.salt = d == sasl::digest::sha1 ? a.salt_sha1 : a.salt_sha256;
        const std::string salted = sasl::pbkdf2(d, a.password, k.salt, iterations);
        k.client_key = sasl::hmac(d, salted, "Client Key");
        k.server_key = sasl::hmac(d, salted, "Server Key");
        k.stored_key = sasl::hash(d, k.client_key);
    }
    return k;
}

class backend final : public plugin::auth_backend,
                      public plugin::secret_provider,
                      public plugin::certificate_mapper,
                      public plugin::authorizer {
  public:
    void init(plugin::settings&, plugin::host_view&) override {}

    asio::awaitable<plugin::auth_result> verify_password(std::string_view user, std::string_view password) override {
        if (user == "broken") {
            co_return plugin::auth_result{auth_status::tempfail, {}, "down"};
        }
        const auto it = accounts().find(user);
        if (it != accounts().end() && it->second.password == password) {
            co_return plugin::auth_result{auth_status::ok, it->first, {}};
        }
        co_return plugin::auth_result{};
    }

    plugin::secret_provider* secrets() noexcept override { return this; }
    plugin::certificate_mapper* certificates() noexcept override { return this; }
    plugin::authorizer* authorization() noexcept override { return this; }

    asio::awaitable<plugin::secret_result> stored_secret(std::string_view user, plugin::secret_kind kind) override {
        if (user == "broken") {
            co_return plugin::secret_result{auth_status::tempfail, {}, {}};
        }
        const auto it = accounts().find(user);
        if (it == accounts().end()) {
            co_return plugin::secret_result{};
        }
        switch (kind) {
            case plugin::secret_kind::plaintext_equivalent:
                co_return plugin::secret_result{auth_status::ok, it->first, it->second.password};
            case plugin::secret_kind::scram_sha_1:
                co_return plugin::secret_result{auth_status::ok, it->first,
                                                scram_secret(it->first, sasl::digest::sha1)};
            case plugin::secret_kind::scram_sha_256:
                co_return plugin::secret_result{auth_status::ok, it->first,
                                                scram_secret(it->first, sasl::digest::sha256)};
        }
        co_return plugin::secret_result{};
    }

    asio::awaitable<plugin::auth_result> map_certificate(const tls::peer_certificate& certificate) override {
        if (certificate.verified && certificate.common_name == "alice") {
            co_return plugin::auth_result{auth_status::ok, "alice", {}};
        }
        co_return plugin::auth_result{};
    }

    asio::awaitable<bool> may_act_as(std::string_view authenticated, std::string_view requested) override {
        co_return ::may_act_as(authenticated, requested);
    }

  private:
    // The stored form, made once per user and digest by the framework's own function (PBKDF2 is slow).
    static const std::string& scram_secret(const std::string& user, sasl::digest d) {
        static std::map<std::pair<std::string, int>, std::string> cache;
        auto& s = cache[{user, static_cast<int>(d)}];
        if (s.empty()) {
            const auto& a = accounts().at(user);
            s = sasl::scram_secret(d, a.password, d == sasl::digest::sha1 ? a.salt_sha1 : a.salt_sha256, iterations);
        }
        return s;
    }
};

struct mechanism_choice {
    std::string_view name;
    std::string_view server_nonce;  // what make_nonce gives: the RFC examples' server nonces and challenge
};

const mechanism_choice choices[] = {
    {"PLAIN", ""},
    {"LOGIN", ""},
    {"CRAM-MD5", "<1896.697170952@postoffice.reston.mci.net>"},
    {"SCRAM-SHA-1", "3rfcNHYJY1ZVvWVs7j"},
    {"SCRAM-SHA-256", "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"},
    {"EXTERNAL", ""},
    {"SCRAM-SHA-1-PLUS", "3rfcNHYJY1ZVvWVs7j"},
    {"SCRAM-SHA-256-PLUS", "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"},
};

struct exchange {
    std::vector<std::optional<std::string>> client;  // client[i] answered by server[i]; nullopt: no initial response
    std::vector<step> server;
};

asio::awaitable<exchange> drive(sasl::mechanism& m, const std::vector<std::string_view>& messages, bool initial) {
    exchange x;
    std::size_t next = 0;
    if (initial) {
        x.client.emplace_back(std::string(messages[next]));
        const std::optional<std::string_view> first = messages[next++];
        x.server.push_back(co_await m.start(first));
    } else {
        x.client.emplace_back(std::nullopt);
        x.server.push_back(co_await m.start(std::nullopt));
    }
    while (x.server.back().outcome == step::kind::challenge && next < messages.size()) {
        x.client.emplace_back(std::string(messages[next]));
        const std::string_view message = messages[next++];
        x.server.push_back(co_await m.next(message));
    }
    co_return x;
}

// The client messages actually sent (without the absent initial response).
std::vector<std::string> sent(const exchange& x) {
    std::vector<std::string> out;
    for (const auto& c : x.client) {
        if (c) {
            out.push_back(*c);
        }
    }
    return out;
}

// What the server compares (RFC 4616 2, RFC 5802 5.1): a name or password SASLprep'd as a query. A string
// SASLprep refuses never succeeds.
std::string prepared(std::string_view text, const char* what) {
    auto p = sasl::saslprep(text, sasl::prep_kind::query);
    FUZZ_CHECK(p.ok(), what);
    return p.text;
}

bool known_password(std::string_view user, std::string_view password) {
    const auto it = accounts().find(user);
    return it != accounts().end() && it->second.password == password;
}

// The identity acted as follows from the one proven and the one asked for.
void check_identities(const step& s, std::string_view proven, std::string_view authzid) {
    FUZZ_CHECK(s.authenticated == proven, "the authenticated identity is not the one whose credentials were proven");
    if (authzid.empty() || authzid == proven) {
        FUZZ_CHECK(s.user == proven, "acting as someone else without asking");
    } else {
        FUZZ_CHECK(s.user == authzid, "acting as someone other than asked");
        FUZZ_CHECK(may_act_as(proven, authzid), "acting as someone the authenticated user may not act as");
    }
}

void check_plain(const exchange& x) {
    const auto m = sent(x);
    FUZZ_CHECK(!m.empty(), "PLAIN succeeded without a message");
    const std::string& msg = m.back();
    const auto first = msg.find('\0');
    const auto second = first == std::string::npos ? first : msg.find('\0', first + 1);
    FUZZ_CHECK(second != std::string::npos && msg.find('\0', second + 1) == std::string::npos,
               "PLAIN succeeded on a message that is not authzid NUL authcid NUL password");
    const std::string refused = "PLAIN succeeded with a string SASLprep refuses";
    const std::string authzid = first == 0 ? "" : prepared(msg.substr(0, first), refused.c_str());
    const std::string authcid = prepared(msg.substr(first + 1, second - first - 1), refused.c_str());
    const std::string password = prepared(msg.substr(second + 1), refused.c_str());
    FUZZ_CHECK(known_password(authcid, password), "PLAIN succeeded without the right password");
    check_identities(x.server.back(), authcid, authzid);
}

void check_login(const exchange& x) {
    const auto m = sent(x);
    FUZZ_CHECK(m.size() == 2, "LOGIN succeeded without exactly a user name and a password");
    const std::string user = prepared(m[0], "LOGIN succeeded with a user name SASLprep refuses");
    FUZZ_CHECK(known_password(user, prepared(m[1], "LOGIN succeeded with a password SASLprep refuses")),
               "LOGIN succeeded without the right password");
    check_identities(x.server.back(), user, "");
    FUZZ_CHECK(x.server.size() >= 2 && x.server[x.server.size() - 2].data == "Password:", "LOGIN never asked");
}

void check_cram_md5(const exchange& x, std::string_view challenge) {
    FUZZ_CHECK(!x.client.front().has_value(), "CRAM-MD5 succeeded although the client spoke first");
    FUZZ_CHECK(x.server.size() == 2 && x.server[0].data == challenge, "CRAM-MD5 succeeded without its challenge");
    const std::string& response = *x.client[1];
    const auto space = response.rfind(' ');
    FUZZ_CHECK(space != std::string::npos, "CRAM-MD5 succeeded on a response without a space");
    const std::string user = response.substr(0, space);
    std::string digest = response.substr(space + 1);
    std::transform(digest.begin(), digest.end(), digest.begin(), [](unsigned char c) { return std::tolower(c); });
    const auto it = accounts().find(user);
    FUZZ_CHECK(it != accounts().end(), "CRAM-MD5 succeeded for an unknown user");
    FUZZ_CHECK(digest == sasl::hex(sasl::hmac(sasl::digest::md5, it->second.password, challenge)),
               "CRAM-MD5 succeeded without the right digest");
    check_identities(x.server.back(), user, "");
}

// "k=value" fields of a SCRAM message.
std::vector<std::string_view> fields(std::string_view message) {
    std::vector<std::string_view> out;
    for (std::size_t at = 0;;) {
        const auto comma = message.find(',', at);
        out.push_back(message.substr(at, comma == std::string_view::npos ? std::string_view::npos : comma - at));
        if (comma == std::string_view::npos) {
            return out;
        }
        at = comma + 1;
    }
}

std::optional<std::string> saslname(std::string_view escaped) {
    std::string out;
    for (std::size_t i = 0; i < escaped.size(); ++i) {
        if (escaped[i] != '=') {
            out += escaped[i];
        } else if (escaped.substr(i, 3) == "=2C") {
            out += ',';
            i += 2;
        } else if (escaped.substr(i, 3) == "=3D") {
            out += '=';
            i += 2;
        } else {
            return std::nullopt;
        }
    }
    return out;
}

void check_scram(const exchange& x, sasl::digest d, bool plus, const tls::channel_info* tls,
                 std::string_view server_nonce) {
    // client-first, server-first, client-final, server-final, the empty acknowledgement, success.
    const auto m = sent(x);
    FUZZ_CHECK(m.size() == 3 && m[2].empty(), "SCRAM succeeded outside first, final, empty acknowledgement");
    const std::size_t at = x.server.size() - 3;  // the server-first challenge
    const std::string& server_first = x.server[at].data;
    const std::string& server_final = x.server[at + 1].data;
    FUZZ_CHECK(x.server[at].outcome == step::kind::challenge && x.server[at + 1].outcome == step::kind::challenge,
               "SCRAM succeeded without its two challenges");

    // client-first: gs2-header client-first-bare
    const auto f = fields(m[0]);
    FUZZ_CHECK(f.size() >= 4, "SCRAM succeeded on a short client-first-message");
    const std::string gs2_header = std::string(f[0]) + "," + std::string(f[1]) + ",";
    const std::string_view bare = std::string_view(m[0]).substr(gs2_header.size());
    if (plus) {
        FUZZ_CHECK(tls != nullptr && !tls->channel_binding.empty() && f[0] == "p=" + tls->channel_binding_type,
                   "SCRAM-PLUS succeeded without channel binding");
    } else {
        FUZZ_CHECK(f[0] == "n" || (f[0] == "y" && (tls == nullptr || tls->channel_binding.empty())),
                   "SCRAM succeeded with a channel-binding flag it must refuse");
    }
    std::string authzid;
    if (!f[1].empty()) {
        FUZZ_CHECK(f[1].starts_with("a="), "SCRAM succeeded with a malformed authzid field");
        const auto a = saslname(f[1].substr(2));
        FUZZ_CHECK(a.has_value(), "SCRAM succeeded with a malformed authzid");
        authzid = prepared(*a, "SCRAM succeeded with an authzid SASLprep refuses");
    }
    FUZZ_CHECK(f[2].starts_with("n=") && f[3].starts_with("r="), "SCRAM succeeded on a malformed bare message");
    const auto name = saslname(f[2].substr(2));
    FUZZ_CHECK(name.has_value(), "SCRAM succeeded with a malformed user name");
    const std::string user = prepared(*name, "SCRAM succeeded with a user name SASLprep refuses");
    FUZZ_CHECK(accounts().count(user) == 1, "SCRAM succeeded for an unknown user");
    const std::string client_nonce(f[3].substr(2));
    const auto& k = keys_of(user, d);

    // server-first: our nonce after the client's, the user's salt, the iteration count
    const std::string nonce = client_nonce + std::string(server_nonce);
    FUZZ_CHECK(server_first == "r=" + nonce + ",s=" + sasl::base64_encode(k.salt) + ",i=" + std::to_string(iterations),
               "the server-first-message is not r=<nonce>,s=<salt>,i=<iterations>");

    // client-final: c=<binding>,r=<nonce>[,...],p=<proof>
    const std::string& final_message = m[1];
    const auto proof_at = final_message.rfind(",p=");
    FUZZ_CHECK(proof_at != std::string::npos, "SCRAM succeeded without a proof");
    const std::string without_proof = final_message.substr(0, proof_at);
    const auto ff = fields(without_proof);
    FUZZ_CHECK(ff.size() >= 2 && ff[0].starts_with("c=") && ff[1] == "r=" + nonce,
               "SCRAM succeeded on a client-final-message without binding and the exchange's nonce");
    std::string binding = gs2_header;
    if (plus) {
        binding.append(tls->channel_binding.begin(), tls->channel_binding.end());
    }
    FUZZ_CHECK(sasl::base64_decode(ff[0].substr(2)) == binding, "SCRAM succeeded with the wrong channel binding");

    const std::string auth_message = std::string(bare) + "," + server_first + "," + without_proof;
    const std::string signature = sasl::hmac(d, k.stored_key, auth_message);
    std::string proof(k.client_key.size(), '\0');
    for (std::size_t i = 0; i < proof.size(); ++i) {
        proof[i] = static_cast<char>(k.client_key[i] ^ signature[i]);
    }
    FUZZ_CHECK(sasl::base64_decode(final_message.substr(proof_at + 3)) == proof,
               "SCRAM succeeded without the proof only the password gives");
    FUZZ_CHECK(server_final == "v=" + sasl::base64_encode(sasl::hmac(d, k.server_key, auth_message)),
               "the server signature does not prove the server knows the user's key");
    check_identities(x.server.back(), user, authzid);
}

void check_external(const exchange& x, const tls::channel_info* tls) {
    FUZZ_CHECK(tls != nullptr && tls->peer.present && tls->peer.verified,
               "EXTERNAL succeeded without a verified client certificate");
    const auto m = sent(x);
    FUZZ_CHECK(m.size() == 1, "EXTERNAL succeeded without exactly one message");
    check_identities(x.server.back(), "alice", m[0]);
}

}  // namespace

namespace {
// MAILWRIGHT_FUZZ_SHOW=1 prints each exchange (for reading a reproducer).
bool show = false;

const char* outcome_name(step::kind k) {
    switch (k) {
        case step::kind::challenge:
            return "challenge";
        case step::kind::success:
            return "success";
        case step::kind::failure:
            return "failure";
        case step::kind::tempfail:
            return "tempfail";
    }
    return "?";
}

void print(std::string_view mechanism, const exchange& x) {
    std::fprintf(stderr, "--- %.*s\n", static_cast<int>(mechanism.size()), mechanism.data());
    for (std::size_t i = 0; i < x.server.size(); ++i) {
        const auto& c = x.client[i];
        const auto& s = x.server[i];
        std::fprintf(stderr, "C: %s\nS: %s %s%s%s\n", c ? sasl::base64_encode(*c).c_str() : "(no initial response)",
                     outcome_name(s.outcome), s.data.c_str(), s.user.empty() ? "" : " user=", s.user.c_str());
        if (!s.log_reason.empty()) {
            std::fprintf(stderr, "   (%s)\n", s.log_reason.c_str());
        }
    }
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    fuzz::quiet_logging();
    show = std::getenv("MAILWRIGHT_FUZZ_SHOW") != nullptr;
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string input(reinterpret_cast<const char*>(data), size);
    const std::size_t which = size > 0 ? data[0] % std::size(choices) : 0;
    const std::uint8_t flags = size > 1 ? data[1] : 0;
    const auto& choice = choices[which];

    std::vector<std::string_view> messages;
    const std::string_view rest = size > 2 ? std::string_view(input).substr(2) : std::string_view();
    for (std::size_t at = 0;;) {
        const auto lf = rest.find('\n', at);
        messages.push_back(rest.substr(at, lf == std::string_view::npos ? std::string_view::npos : lf - at));
        if (lf == std::string_view::npos) {
            break;
        }
        at = lf + 1;
    }

    tls::channel_info channel;
    channel.version = "TLSv1.3";
    channel.cipher = "TLS_AES_128_GCM_SHA256";
    channel.peer.present = (flags & 4) != 0;
    channel.peer.verified = (flags & 4) != 0 && (flags & 0x40) == 0;
    channel.peer.common_name = "alice";
    channel.peer.subject = "/CN=alice";
    if ((flags & 8) != 0) {
        channel.channel_binding_type = "tls-exporter";
        for (unsigned char i = 0; i < 32; ++i) {
            channel.channel_binding.push_back(i);
        }
    }
    const tls::channel_info* tls = (flags & 2) != 0 ? &channel : nullptr;

    backend auth;
    const std::string server_nonce(choice.server_nonce);
    const sasl::context ctx{
        .auth = auth, .tls = tls, .hostname = "localhost", .make_nonce = [&] { return server_nonce; }};
    auto mechanism = sasl::make_mechanism(choice.name, ctx);
    FUZZ_CHECK(mechanism != nullptr, "a mechanism from mechanisms() cannot be made");

    const exchange x = fuzz::run(drive(*mechanism, messages, (flags & 1) != 0));
    if (show) {
        print(choice.name, x);
    }

    for (std::size_t i = 0; i + 1 < x.server.size(); ++i) {
        FUZZ_CHECK(x.server[i].outcome == step::kind::challenge, "the exchange went on after it ended");
    }
    const step& last = x.server.back();
    if (last.outcome != step::kind::success) {
        FUZZ_CHECK(last.user.empty() && last.authenticated.empty(), "an identity without success");
    }
    if (last.outcome == step::kind::tempfail) {
        FUZZ_CHECK(input.find("broken") != std::string::npos, "a temporary failure the backend never reported");
    }
    if (last.outcome != step::kind::success) {
        return 0;
    }
    FUZZ_CHECK(!last.user.empty() && !last.authenticated.empty(), "success without an identity");
    switch (which) {
        case 0:
            check_plain(x);
            break;
        case 1:
            check_login(x);
            break;
        case 2:
            check_cram_md5(x, choice.server_nonce);
            break;
        case 3:
        case 6:
            check_scram(x, sasl::digest::sha1, which == 6, tls, choice.server_nonce);
            break;
        case 4:
        case 7:
            check_scram(x, sasl::digest::sha256, which == 7, tls, choice.server_nonce);
            break;
        case 5:
            check_external(x, tls);
            break;
    }
    return 0;
}
