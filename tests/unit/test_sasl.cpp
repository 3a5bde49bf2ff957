// The SASL engine: RFC test vectors (RFC 2195 CRAM-MD5, RFC 5802 SCRAM-SHA-1, RFC 7677 SCRAM-SHA-256, the
// RFC 1939 APOP example), each mechanism's dialogue, malformed input, authorization identities, channel
// binding, and which mechanisms may be offered.
#include "mailwright/sasl/mechanism.hpp"
#include "support.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <map>

using namespace mailwright;
using mailwright::test::run;
using sasl::step;

namespace {

// A backend with every ability, over a map of users to passwords.
class test_backend final : public plugin::auth_backend,
                           plugin::secret_provider,
                           plugin::certificate_mapper,
                           plugin::authorizer {
  public:
    std::map<std::string, std::string> passwords;
    std::map<std::string, std::string> scram_salts;        // base64; default "c2FsdHNhbHRzYWx0c2FsdA=="
    std::map<std::string, std::string> certificate_users;  // fingerprint -> user
    std::map<std::string, std::string> may_act;            // "alice" -> "shared"

    void init(plugin::settings&, plugin::host_view&) override {}
    asio::awaitable<plugin::auth_result> verify_password(std::string_view user, std::string_view password) override {
        const auto it = passwords.find(std::string(user));
        const bool ok = it != passwords.end() && it->second == password;
        co_return plugin::auth_result{
            ok ? plugin::auth_status::ok : plugin::auth_status::rejected, ok ? it->first : "", {}};
    }
    plugin::secret_provider* secrets() noexcept override { return this; }
    plugin::certificate_mapper* certificates() noexcept override { return this; }
    plugin::authorizer* authorization() noexcept override { return this; }

    asio::awaitable<plugin::secret_result> stored_secret(std::string_view user, plugin::secret_kind kind) override {
        const auto it = passwords.find(std::string(user));
        if (it == passwords.end()) {
            co_return plugin::secret_result{};
        }
        if (kind == plugin::secret_kind::plaintext_equivalent) {
            co_return plugin::secret_result{plugin::auth_status::ok, it->first, it->second};
        }
        const auto salt = scram_salts.count(it->first) ? scram_salts[it->first] : "c2FsdHNhbHRzYWx0c2FsdA==";
        const auto d = kind == plugin::secret_kind::scram_sha_1 ? sasl::digest::sha1 : sasl::digest::sha256;
        co_return plugin::secret_result{plugin::auth_status::ok, it->first,
                                        sasl::scram_secret(d, it->second, *sasl::base64_decode(salt), 4096)};
    }
    asio::awaitable<plugin::auth_result> map_certificate(const tls::peer_certificate& certificate) override {
        const auto it = certificate_users.find(certificate.sha256_fingerprint);
        co_return it == certificate_users.end() ? plugin::auth_result{}
                                                : plugin::auth_result{plugin::auth_status::ok, it->second, {}};
    }
    asio::awaitable<bool> may_act_as(std::string_view authenticated, std::string_view requested) override {
        const auto it = may_act.find(std::string(authenticated));
        co_return it != may_act.end() && it->second == requested;
    }
};

struct fixture {
    test_backend backend;
    std::string nonce;
    sasl::context ctx{backend, nullptr, "localhost", [this] { return nonce; }};

    std::unique_ptr<sasl::mechanism> make(std::string_view name) {
        auto m = sasl::make_mechanism(name, ctx);
        REQUIRE(m);
        return m;
    }
};

using namespace std::string_literals;

}  // namespace

TEST_CASE("sasl: strict base64", "[sasl][base64]") {
    CHECK(sasl::base64_decode("") == "");
    CHECK(sasl::base64_decode("Zm9v") == "foo");
    CHECK(sasl::base64_decode("Zm9vYg==") == "foob");
    CHECK(sasl::base64_decode("Zm9vYmE=") == "fooba");
    CHECK(sasl::base64_encode("foob") == "Zm9vYg==");
    for (const char* bad :
         {"Zm9", "Zm9v\r\n", "Zm 9v", "Zm9vY===", "Zm=v", "Zm9vYh==", "Zm9vYmF=", "Zm9v!A==", "====", "Z==="}) {
        INFO(bad);
        CHECK_FALSE(sasl::base64_decode(bad));
    }
}

TEST_CASE("sasl: CRAM-MD5, the RFC 2195 example", "[sasl][vectors]") {
    fixture f;
    f.backend.passwords["tim"] = "tanstaaftanstaaf";
    f.nonce = "<1896.697170952@postoffice.reston.mci.net>";
    auto m = f.make("CRAM-MD5");
    auto challenge = run(m->start(std::nullopt));
    REQUIRE(challenge.outcome == step::kind::challenge);
    CHECK(challenge.data == f.nonce);
    auto done = run(m->next("tim b913a602c7eda7a495b4e6e7334d3890"));
    CHECK(done.outcome == step::kind::success);
    CHECK(done.user == "tim");

    auto wrong = f.make("CRAM-MD5");
    run(wrong->start(std::nullopt));
    CHECK(run(wrong->next("tim b913a602c7eda7a495b4e6e7334d3891")).outcome == step::kind::failure);
    auto unknown = f.make("CRAM-MD5");
    run(unknown->start(std::nullopt));
    CHECK(run(unknown->next("tom b913a602c7eda7a495b4e6e7334d3890")).outcome == step::kind::failure);
}

TEST_CASE("sasl: APOP, the RFC 1939 example", "[sasl][vectors]") {
    test_backend backend;
    backend.passwords["mrose"] = "tanstaaf";
    const auto ts = "<1896.697170952@dbc.mtview.ca.us>";
    CHECK(run(sasl::verify_apop(backend, "mrose", ts, "c4c9334bac560ecc979e58001b3e22fb")).status ==
          plugin::auth_status::ok);
    CHECK(run(sasl::verify_apop(backend, "mrose", ts, "c4c9334bac560ecc979e58001b3e22fc")).status ==
          plugin::auth_status::rejected);
    CHECK(run(sasl::verify_apop(backend, "nobody", ts, "c4c9334bac560ecc979e58001b3e22fb")).status ==
          plugin::auth_status::rejected);
    // Each connection gets its own timestamp.
    CHECK(sasl::apop_timestamp("mail.example") != sasl::apop_timestamp("mail.example"));
}

TEST_CASE("sasl: SCRAM-SHA-1, the RFC 5802 example", "[sasl][vectors][scram]") {
    fixture f;
    f.backend.passwords["user"] = "pencil";
    f.backend.scram_salts["user"] = "QSXCR+Q6sek8bf92";
    f.nonce = "3rfcNHYJY1ZVvWVs7j";
    auto m = f.make("SCRAM-SHA-1");
    auto first = run(m->start("n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL"s));
    REQUIRE(first.outcome == step::kind::challenge);
    CHECK(first.data == "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096");
    auto final = run(m->next("c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="));
    REQUIRE(final.outcome == step::kind::challenge);
    CHECK(final.data == "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=");
    auto done = run(m->next(""));
    CHECK(done.outcome == step::kind::success);
    CHECK(done.user == "user");
}

TEST_CASE("sasl: SCRAM-SHA-256, the RFC 7677 example", "[sasl][vectors][scram]") {
    fixture f;
    f.backend.passwords["user"] = "pencil";
    f.backend.scram_salts["user"] = "W22ZaJ0SNY7soEsUEjb6gQ==";
    f.nonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    auto m = f.make("SCRAM-SHA-256");
    REQUIRE(run(m->start(std::nullopt)).outcome == step::kind::challenge);  // no initial response
    auto first = run(m->next("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"));
    CHECK(first.data == "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
    auto final =
        run(m->next("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="));
    CHECK(final.data == "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
    CHECK(run(m->next("")).outcome == step::kind::success);
}

TEST_CASE("sasl: SCRAM refuses what it must", "[sasl][scram]") {
    fixture f;
    f.backend.passwords["user"] = "pencil";
    f.backend.scram_salts["user"] = "W22ZaJ0SNY7soEsUEjb6gQ==";
    f.nonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    const std::string good_final =
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";

    SECTION("a wrong proof") {
        auto m = f.make("SCRAM-SHA-256");
        run(m->start("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"s));
        CHECK(run(m->next(good_final.substr(0, good_final.size() - 5) + "AAAA=")).outcome == step::kind::failure);
    }
    SECTION("an unknown user looks like a known one until the proof") {
        auto m = f.make("SCRAM-SHA-256");
        auto first = run(m->start("n,,n=nobody,r=rOprNGfwEbeRWgbNEkqO"s));
        REQUIRE(first.outcome == step::kind::challenge);
        CHECK_THAT(first.data, Catch::EndsWith(",i=4096"));
        auto again = f.make("SCRAM-SHA-256");
        CHECK(run(again->start("n,,n=nobody,r=rOprNGfwEbeRWgbNEkqO"s)).data == first.data);  // a stable salt
        CHECK(run(m->next("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                          "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="))
                  .outcome == step::kind::failure);
    }
    SECTION("a nonce that is not the one agreed") {
        auto m = f.make("SCRAM-SHA-256");
        run(m->start("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"s));
        CHECK(run(m->next("c=biws,r=rOprNGfwEbeRWgbNEkqOX,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")).outcome ==
              step::kind::failure);
    }
    SECTION("malformed client-first messages") {
        for (const char* bad :
             {"", "n", "n,", "x,,n=user,r=abc", "n,,r=abc", "n,,n=,r=abc", "n,,n=user", "n,,n=us=er,r=abc",
              "n,a,n=user,r=abc", "n,,m=ext,n=user,r=abc", "p=tls-unique,,n=u,r=a"}) {
            INFO(bad);
            auto m = f.make("SCRAM-SHA-256");
            CHECK(run(m->start(std::string_view(bad))).outcome == step::kind::failure);
        }
    }
    SECTION("a client that says it could bind, where binding is offered: a downgrade") {
        tls::channel_info channel;
        channel.channel_binding_type = "tls-exporter";
        channel.channel_binding.assign(32, 7);
        f.ctx.tls = &channel;
        auto m = f.make("SCRAM-SHA-256");
        CHECK(run(m->start("y,,n=user,r=rOprNGfwEbeRWgbNEkqO"s)).outcome == step::kind::failure);
    }
    SECTION("data after the server's final message") {
        auto m = f.make("SCRAM-SHA-256");
        run(m->start("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"s));
        REQUIRE(run(m->next(good_final)).outcome == step::kind::challenge);
        CHECK(run(m->next("more")).outcome == step::kind::failure);
    }
}

TEST_CASE("sasl: SCRAM-SHA-256-PLUS binds to the TLS channel", "[sasl][scram]") {
    // The client side of RFC 5802, computed here, with the channel's binding data.
    fixture f;
    f.backend.passwords["user"] = "pencil";
    f.nonce = "servernonce";
    tls::channel_info channel;
    channel.channel_binding_type = "tls-exporter";
    channel.channel_binding.assign(32, 0x42);
    f.ctx.tls = &channel;
    const std::string gs2 = "p=tls-exporter,,";
    const std::string bare = "n=user,r=clientnonce";

    auto client_final = [&](const std::string& server_first, const std::string& binding_data) {
        const auto salt = *sasl::base64_decode(
            server_first.substr(server_first.find(",s=") + 3, server_first.find(",i=") - server_first.find(",s=") - 3));
        const std::string salted = sasl::pbkdf2(sasl::digest::sha256, "pencil", salt, 4096);
        const std::string client_key = sasl::hmac(sasl::digest::sha256, salted, "Client Key");
        const std::string without_proof = "c=" + sasl::base64_encode(gs2 + binding_data) + ",r=clientnonceservernonce";
        const std::string auth_message = bare + "," + server_first + "," + without_proof;
        const std::string signature =
            sasl::hmac(sasl::digest::sha256, sasl::hash(sasl::digest::sha256, client_key), auth_message);
        std::string proof = client_key;
        for (std::size_t i = 0; i < proof.size(); ++i) {
            proof[i] = static_cast<char>(proof[i] ^ signature[i]);
        }
        return without_proof + ",p=" + sasl::base64_encode(proof);
    };
    const std::string binding(channel.channel_binding.begin(), channel.channel_binding.end());

    auto good = f.make("SCRAM-SHA-256-PLUS");
    auto first = run(good->start(gs2 + bare));
    REQUIRE(first.outcome == step::kind::challenge);
    REQUIRE(run(good->next(client_final(first.data, binding))).outcome == step::kind::challenge);
    CHECK(run(good->next("")).outcome == step::kind::success);

    auto other_channel = f.make("SCRAM-SHA-256-PLUS");
    first = run(other_channel->start(gs2 + bare));
    CHECK(run(other_channel->next(client_final(first.data, std::string(32, 0x43)))).outcome == step::kind::failure);

    auto wrong_type = f.make("SCRAM-SHA-256-PLUS");
    CHECK(run(wrong_type->start("p=tls-unique,,"s + bare)).outcome == step::kind::failure);
}

TEST_CASE("sasl: PLAIN", "[sasl]") {
    fixture f;
    f.backend.passwords["alice"] = "secret";
    f.backend.may_act["alice"] = "shared";
    auto with = [&](std::string message) { return run(f.make("PLAIN")->start(std::string_view(message))); };
    CHECK(with("\0alice\0secret"s).outcome == step::kind::success);
    CHECK(with("alice\0alice\0secret"s).user == "alice");
    const auto shared = with("shared\0alice\0secret"s);
    CHECK(shared.outcome == step::kind::success);
    CHECK(shared.user == "shared");
    CHECK(shared.authenticated == "alice");
    CHECK(with("bob\0alice\0secret"s).outcome == step::kind::failure);  // an authzid nobody allowed
    CHECK(with("\0alice\0wrong"s).outcome == step::kind::failure);
    CHECK(with("\0nobody\0secret"s).outcome == step::kind::failure);
    for (const auto& bad : {"alice secret"s, "\0alice"s, "\0alice\0secret\0"s, "\0\0secret"s, "\0alice\0"s,
                            "\0"s + std::string(300, 'a') + "\0secret"s}) {
        CHECK(with(bad).outcome == step::kind::failure);
    }
    auto m = f.make("PLAIN");
    auto empty = run(m->start(std::nullopt));
    CHECK(empty.outcome == step::kind::challenge);
    CHECK(empty.data.empty());
    CHECK(run(m->next("\0alice\0secret"s)).outcome == step::kind::success);
}

TEST_CASE("sasl: LOGIN", "[sasl]") {
    fixture f;
    f.backend.passwords["alice"] = "secret";
    auto m = f.make("LOGIN");
    CHECK(run(m->start(std::nullopt)).data == "Username:");
    CHECK(run(m->next("alice")).data == "Password:");
    CHECK(run(m->next("secret")).outcome == step::kind::success);
    auto initial = f.make("LOGIN");
    CHECK(run(initial->start("alice"s)).data == "Password:");
    CHECK(run(initial->next("wrong")).outcome == step::kind::failure);
}

TEST_CASE("sasl: PLAIN, LOGIN and SCRAM prepare with SASLprep", "[sasl][saslprep]") {
    // RFC 4616 2 and RFC 5802 2.2: "IX" with the password "a b", kept prepared, reached with what prepares to them.
    fixture f;
    f.backend.passwords["IX"] = "a b";
    auto plain = [&](std::string message) { return run(f.make("PLAIN")->start(std::string_view(message))); };
    CHECK(plain("\0\u2168\0a\u00A0b"s).user == "IX");
    CHECK(plain("\u2168\0I\u00ADX\0a\u3000b"s).outcome == step::kind::success);  // the authzid too
    CHECK(plain("\0IX\0a\u00A0c"s).outcome == step::kind::failure);
    const auto control = plain("\0IX\0a\u0007b"s);
    CHECK(control.outcome == step::kind::failure);
    CHECK_THAT(control.log_reason, Catch::StartsWith("PLAIN: the password fails SASLprep: it contains a prohibited"));
    CHECK(control.attempted == "IX");
    CHECK_THAT(plain("\0\u0627\u0031\0a b"s).log_reason, Catch::Contains("the user name fails SASLprep"));
    CHECK_THAT(plain("\u0007\0IX\0a b"s).log_reason, Catch::Contains("the authorization identity fails SASLprep"));

    auto login = f.make("LOGIN");
    run(login->start("\u2168"s));
    CHECK(run(login->next("a\u00A0b")).user == "IX");
    auto bad_login = f.make("LOGIN");
    run(bad_login->start("IX"s));
    CHECK_THAT(run(bad_login->next("\xff")).log_reason, Catch::Contains("is not valid UTF-8"));

    // SCRAM: keys made from the password SASLprep'd (here from an unprepared plaintext equivalent), the proof
    // from the client's prepared password; the user name as the client sent it, prepared by the server.
    f.backend.passwords["IX"] = "a\u00A0b";
    f.nonce = "servernonce";
    const std::string bare = "n=\u2168,r=clientnonce";
    auto scram = f.make("SCRAM-SHA-256");
    const auto first = run(scram->start("n,," + bare));
    REQUIRE(first.outcome == step::kind::challenge);
    const auto salt = *sasl::base64_decode(
        first.data.substr(first.data.find(",s=") + 3, first.data.find(",i=") - first.data.find(",s=") - 3));
    const std::string client_key =
        sasl::hmac(sasl::digest::sha256, sasl::pbkdf2(sasl::digest::sha256, "a b", salt, 4096), "Client Key");
    const std::string without_proof = "c=biws,r=clientnonceservernonce";
    const std::string signature = sasl::hmac(sasl::digest::sha256, sasl::hash(sasl::digest::sha256, client_key),
                                             bare + "," + first.data + "," + without_proof);
    std::string proof = client_key;
    for (std::size_t i = 0; i < proof.size(); ++i) {
        proof[i] = static_cast<char>(proof[i] ^ signature[i]);
    }
    REQUIRE(run(scram->next(without_proof + ",p=" + sasl::base64_encode(proof))).outcome == step::kind::challenge);
    CHECK(run(scram->next("")).user == "IX");
    CHECK(sasl::scram_secret(sasl::digest::sha1, "a\u00A0b", "salt", 4096) ==
          sasl::scram_secret(sasl::digest::sha1, "a b", "salt", 4096));
    // A name SASLprep refuses goes on as an unknown one, and fails at the proof, the log saying why.
    auto refusing = f.make("SCRAM-SHA-256");
    REQUIRE(run(refusing->start("n,,n=a\u0007,r=clientnonce"s)).outcome == step::kind::challenge);
    const auto refused = run(refusing->next(without_proof + ",p=" + sasl::base64_encode(proof)));
    CHECK(refused.outcome == step::kind::failure);
    CHECK_THAT(refused.log_reason, Catch::StartsWith("SCRAM: the user name fails SASLprep: it contains a prohibited"));
    CHECK(refused.attempted == "a\u0007");
}

TEST_CASE("sasl: EXTERNAL needs a verified certificate and a mapping", "[sasl]") {
    fixture f;
    f.backend.certificate_users["ab12"] = "alice";
    auto attempt = [&](const tls::channel_info* channel, std::string authzid) {
        f.ctx.tls = channel;
        return run(f.make("EXTERNAL")->start(std::string_view(authzid)));
    };
    CHECK(attempt(nullptr, "").outcome == step::kind::failure);
    tls::channel_info channel;
    channel.peer.present = true;
    channel.peer.sha256_fingerprint = "ab12";
    CHECK(attempt(&channel, "").outcome == step::kind::failure);  // present but not verified
    channel.peer.verified = true;
    CHECK(attempt(&channel, "").user == "alice");
    CHECK(attempt(&channel, "alice").outcome == step::kind::success);
    CHECK(attempt(&channel, "bob").outcome == step::kind::failure);
    channel.peer.sha256_fingerprint = "cd34";
    CHECK(attempt(&channel, "").outcome == step::kind::failure);  // verified, but maps to nobody
}

TEST_CASE("sasl: what may be offered", "[sasl]") {
    const std::vector<std::string> all = {"PLAIN",   "LOGIN", "CRAM-MD5", "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS",
                                          "EXTERNAL"};
    CHECK(sasl::offered(all, nullptr, false) == std::vector<std::string>{"SCRAM-SHA-256", "CRAM-MD5"});
    CHECK(sasl::offered(all, nullptr, true) == std::vector<std::string>{"SCRAM-SHA-256", "CRAM-MD5", "PLAIN", "LOGIN"});
    tls::channel_info channel;
    channel.channel_binding_type = "tls-exporter";
    channel.channel_binding.assign(32, 1);
    CHECK(sasl::offered(all, &channel, false) ==
          std::vector<std::string>{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "CRAM-MD5", "PLAIN", "LOGIN"});
    channel.peer.present = channel.peer.verified = true;
    CHECK(sasl::offered(all, &channel, false).size() == 6);
    // With a backend: only what it can serve. The fixture's has secrets and maps certificates; one that only
    // checks passwords can serve neither SCRAM, CRAM-MD5 nor EXTERNAL.
    fixture f;
    CHECK(sasl::offered(all, &channel, false, &f.backend).size() == 6);
    struct passwords_only final : plugin::auth_backend {
        void init(plugin::settings&, plugin::host_view&) override {}
        asio::awaitable<plugin::auth_result> verify_password(std::string_view, std::string_view) override {
            co_return plugin::auth_result{};
        }
    } hashes;
    CHECK(sasl::offered(all, &channel, false, &hashes) == std::vector<std::string>{"PLAIN", "LOGIN"});
    CHECK(sasl::make_mechanism("DIGEST-MD5", fixture().ctx) == nullptr);
}
