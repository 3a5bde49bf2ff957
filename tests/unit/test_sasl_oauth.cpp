// OAUTHBEARER (RFC 7628) and XOAUTH2: the client messages (the RFC's own examples among them), the error
// document, each mechanism's dialogue with a token backend, and when they are offered.
#include <asio/co_spawn.hpp>
#include <catch2/catch.hpp>
#include <map>

#include "mailwright/sasl/mechanism.hpp"
#include "sasl/oauth_message.hpp"
#include "support.hpp"

using namespace mailwright;
using mailwright::test::run;
using sasl::step;
using namespace std::string_literals;

namespace {

// Tokens are "token-for-<user>"; "slow" cannot be decided; alice may act as "shared".
class token_backend final : public plugin::auth_backend, plugin::token_verifier, plugin::authorizer {
  public:
    bool has_tokens = true;
    std::string requested;  // what the last verify_token() was told

    void init(plugin::settings&, plugin::host_view&) override {}
    asio::awaitable<plugin::auth_result> verify_password(std::string_view, std::string_view) override {
        co_return plugin::auth_result{};
    }
    plugin::token_verifier* tokens() noexcept override { return has_tokens ? this : nullptr; }
    plugin::authorizer* authorization() noexcept override { return this; }

    asio::awaitable<plugin::auth_result> verify_token(std::string_view token, std::string_view user) override {
        requested = std::string(user);
        if (token == "slow") {
            co_return plugin::auth_result{plugin::auth_status::tempfail, {}, "down"};
        }
        if (token.starts_with("token-for-")) {
            co_return plugin::auth_result{plugin::auth_status::ok, std::string(token.substr(10)), {}};
        }
        co_return plugin::auth_result{plugin::auth_status::rejected, {}, "bad signature"};
    }
    std::string token_scope() const override { return "mail \"all\""; }
    asio::awaitable<bool> may_act_as(std::string_view authenticated, std::string_view requested_user) override {
        co_return authenticated == "alice" && requested_user == "shared";
    }
};

struct fixture {
    token_backend backend;
    sasl::context ctx{backend, nullptr, "localhost", {}};
    std::unique_ptr<sasl::mechanism> make(std::string_view name) {
        auto m = sasl::make_mechanism(name, ctx);
        REQUIRE(m);
        return m;
    }
};

std::string bearer(std::string_view authzid, std::string_view token) {
    return "n,"s + (authzid.empty() ? "" : "a=" + std::string(authzid)) + ",\x01host=mail.test\x01port=995\x01" +
           "auth=Bearer " + std::string(token) + "\x01\x01";
}

std::string xoauth2(std::string_view user, std::string_view token) {
    return "user=" + std::string(user) + "\x01" + "auth=Bearer " + std::string(token) + "\x01\x01";
}

}  // namespace

TEST_CASE("oauth: OAUTHBEARER messages, RFC 7628's examples first", "[sasl][oauth]") {
    // RFC 7628 4.1 (the example's token, with its base64 padding)
    const auto rfc = sasl::oauth::parse_oauthbearer(
        "n,a=user@example.com,\x01host=server.example.com\x01port=143\x01"
        "auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01");
    REQUIRE(rfc);
    CHECK(rfc->user == "user@example.com");
    CHECK(rfc->token == "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==");
    // No authzid, only the auth pair, the scheme in another case, several spaces, a JWT's dots and dashes
    const auto bare = sasl::oauth::parse_oauthbearer(
        "n,,\x01"
        "auth=bearer   eyJ.a-b_c~d+e/f\x01\x01");
    REQUIRE(bare);
    CHECK(bare->user.empty());
    CHECK(bare->token == "eyJ.a-b_c~d+e/f");
    // saslname escapes, and "y" (the client could bind, thinks the server cannot)
    const auto escaped = sasl::oauth::parse_oauthbearer(
        "y,a=a=2Cb=3Dc,\x01"
        "auth=Bearer t\x01\x01");
    REQUIRE(escaped);
    CHECK(escaped->user == "a,b=c");
}

TEST_CASE("oauth: malformed OAUTHBEARER messages are refused", "[sasl][oauth]") {
    for (const std::string& bad : {
             ""s,
             "\x01"s,         // the dummy answer to an error
             "n,,\x01\x01"s,  // no auth pair
             "n,,\x01"
             "auth=Bearer t\x01"s,         // no final kvsep
             "n,,auth=Bearer t\x01\x01"s,  // no kvsep after the header
             "p=tls-exporter,,\x01"
             "auth=Bearer t\x01\x01"s,  // channel binding asked for
             "x,,\x01"
             "auth=Bearer t\x01\x01"s,  // an unknown flag
             "n,a=,\x01"
             "auth=Bearer t\x01\x01"s,  // an empty authzid
             "n,a=b=2Xc,\x01"
             "auth=Bearer t\x01\x01"s,  // a bad escape
             "n,b=x,\x01"
             "auth=Bearer t\x01\x01"s,  // not an authzid
             "n,,\x01"
             "auth=Basic dXNlcjpwYXNz\x01\x01"s,  // another scheme
             "n,,\x01"
             "auth=Bearer\x01\x01"s,  // no token
             "n,,\x01"
             "auth=Bearer a b\x01\x01"s,  // a space in the token
             "n,,\x01"
             "auth=Bearer a=b\x01\x01"s,  // '=' inside the token
             "n,,\x01"
             "auth=Bearer ===\x01\x01"s,  // padding only
             "n,,\x01"
             "auth=Bearer t\x01"
             "auth=Bearer u\x01\x01"s,  // two tokens
             "n,,\x01"
             "host2=x\x01"
             "auth=Bearer t\x01\x01"s,  // a key that is not all letters
             "n,,\x01"
             "=x\x01"
             "auth=Bearer t\x01\x01"s,  // an empty key
             "n,,\x01"
             "host=\x7f\x01"
             "auth=Bearer t\x01\x01"s,  // a value with a control character
         }) {
        INFO(bad);
        CHECK_FALSE(sasl::oauth::parse_oauthbearer(bad));
    }
    CHECK_FALSE(sasl::oauth::parse_oauthbearer("n,a=" + std::string(256, 'u') + ",\x01" + "auth=Bearer t\x01\x01"));
}

TEST_CASE("oauth: XOAUTH2 messages", "[sasl][oauth]") {
    // Google's documented example
    const auto google = sasl::oauth::parse_xoauth2(
        "user=someuser@example.com\x01"
        "auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg\x01\x01");
    REQUIRE(google);
    CHECK(google->user == "someuser@example.com");
    CHECK(google->token == "ya29.vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg");
    for (const std::string& bad : {
             ""s,
             "user=a\x01"
             "auth=Bearer t\x01"s,  // one final kvsep only
             "auth=Bearer t\x01"
             "user=a\x01\x01"s,  // the other order
             "user=\x01"
             "auth=Bearer t\x01\x01"s,  // no user
             "user=a b\x01"
             "auth=Bearer t\x01\x01"s,  // a space in the user
             "user=a\x01"
             "auth=Basic t\x01\x01"s,  // another scheme
             "user=a\x01"
             "auth=Bearer t\x01"
             "x=y\x01\x01"s,     // a third pair
             "user=a\x01\x01"s,  // no token
         }) {
        INFO(bad);
        CHECK_FALSE(sasl::oauth::parse_xoauth2(bad));
    }
}

TEST_CASE("oauth: the error documents", "[sasl][oauth]") {
    CHECK(sasl::oauth::error_document(false, "", "") == R"({"status":"invalid_token","schemes":"bearer"})");
    CHECK(sasl::oauth::error_document(false, "mail", "https://id.test/.well-known/openid-configuration") ==
          R"({"status":"invalid_token","schemes":"bearer","scope":"mail",)"
          R"("openid-configuration":"https://id.test/.well-known/openid-configuration"})");
    CHECK(sasl::oauth::error_document(true, "a\"b\\c\n", "") ==
          R"({"status":"401","schemes":"Bearer","scope":"a\"b\\c\u000a"})");
}

TEST_CASE("oauth: OAUTHBEARER logs in with a token, as its user or one it may act as", "[sasl][oauth]") {
    fixture f;
    auto first = run(f.make("OAUTHBEARER")->start(bearer("alice", "token-for-alice")));
    REQUIRE(first.outcome == step::kind::success);
    CHECK(first.user == "alice");
    CHECK(f.backend.requested == "alice");
    auto nameless = run(f.make("OAUTHBEARER")->start(bearer("", "token-for-bob")));
    REQUIRE(nameless.outcome == step::kind::success);
    CHECK(nameless.user == "bob");
    auto shared = run(f.make("OAUTHBEARER")->start(bearer("shared", "token-for-alice")));
    REQUIRE(shared.outcome == step::kind::success);
    CHECK(shared.user == "shared");
    CHECK(shared.authenticated == "alice");
    // No initial response: an empty challenge first
    auto m = f.make("OAUTHBEARER");
    auto empty = run(m->start(std::nullopt));
    REQUIRE(empty.outcome == step::kind::challenge);
    CHECK(empty.data.empty());
    CHECK(run(m->next(bearer("", "token-for-carol"))).user == "carol");
}

TEST_CASE("oauth: a refused token gets the error challenge, then the failure", "[sasl][oauth]") {
    fixture f;
    for (const auto& [who, token] : {std::pair{"alice"s, "forged"s}, std::pair{"bob"s, "token-for-alice"s}}) {
        INFO(who << " " << token);
        auto m = f.make("OAUTHBEARER");
        auto error = run(m->start(bearer(who, token)));
        REQUIRE(error.outcome == step::kind::challenge);
        CHECK(error.data == R"({"status":"invalid_token","schemes":"bearer","scope":"mail \"all\""})");
        auto failure = run(m->next("\x01"));
        CHECK(failure.outcome == step::kind::failure);
        CHECK_FALSE(failure.attempted.empty());
    }
    auto x = f.make("XOAUTH2");
    auto error = run(x->start(xoauth2("alice", "forged")));
    REQUIRE(error.outcome == step::kind::challenge);
    CHECK(error.data == R"({"status":"401","schemes":"Bearer","scope":"mail \"all\""})");
    auto failure = run(x->next(""));
    CHECK(failure.outcome == step::kind::failure);
    CHECK(failure.attempted == "alice");
}

TEST_CASE("oauth: XOAUTH2 logs in, and malformed messages and undecided tokens fail at once", "[sasl][oauth]") {
    fixture f;
    auto ok = run(f.make("XOAUTH2")->start(xoauth2("alice", "token-for-alice")));
    REQUIRE(ok.outcome == step::kind::success);
    CHECK(ok.user == "alice");
    CHECK(run(f.make("XOAUTH2")->start("user=alice\x01"s)).outcome == step::kind::failure);
    CHECK(run(f.make("OAUTHBEARER")->start("n,,\x01\x01"s)).outcome == step::kind::failure);
    CHECK(run(f.make("XOAUTH2")->start(xoauth2("alice", "slow"))).outcome == step::kind::tempfail);
    f.backend.has_tokens = false;
    CHECK(run(f.make("OAUTHBEARER")->start(bearer("alice", "token-for-alice"))).outcome == step::kind::failure);
}

TEST_CASE("oauth: offered only inside TLS, and only with a backend that verifies tokens", "[sasl][oauth]") {
    token_backend backend;
    const std::vector<std::string> both{"OAUTHBEARER", "XOAUTH2", "PLAIN"};
    const tls::channel_info channel;
    CHECK(sasl::offered(both, nullptr, true, &backend) == std::vector<std::string>{"PLAIN"});
    CHECK(sasl::offered(both, &channel, false, &backend) ==
          std::vector<std::string>{"PLAIN", "OAUTHBEARER", "XOAUTH2"});
    backend.has_tokens = false;
    CHECK(sasl::offered(both, &channel, false, &backend) == std::vector<std::string>{"PLAIN"});
}
