// The headers plugin's filter (plugins/headers): the Authentication-Results field it writes (RFC 8601 syntax),
// the forged ones it removes (our authserv-id in every spelling) and the ones it keeps, and Received fields
// removed only from authenticated submissions and only when configured.
#include "headers_filter.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "authres.hpp"
#include "support.hpp"

using namespace mailwright;
using headers::session_facts;

namespace {

constexpr std::string_view ours = "mx.example.org";

session_facts alice_over_tls() {
    session_facts facts;
    facts.user = "alice";
    facts.tls = true;
    facts.tls_version = "TLSv1.3";
    facts.tls_cipher = "TLS_AES_256_GCM_SHA384";
    return facts;
}

headers::headers_filter make_filter(session_facts facts, bool strip_received = false, bool add = true) {
    headers::filter_options options;
    options.authserv_id = std::string(ours);
    options.strip_received = strip_received;
    options.add_authentication_results = add;
    return headers::headers_filter(std::move(options), std::move(facts));
}

// The fields of `block` the filter keeps, then what it prepends, as the pipeline would put them.
struct outcome {
    std::vector<std::string> kept;
    std::vector<std::string> prepended;
};

outcome run_filter(headers::headers_filter& filter, std::string_view block) {
    outcome out;
    for (std::size_t at = 0; at < block.size();) {
        const std::size_t next = imf::field_end(block, at);
        const std::string_view raw = block.substr(at, next - at);
        at = next;
        if (filter.header(imf::parse_field(raw)) == plugin::field_action::keep) {
            out.kept.emplace_back(raw);
        }
    }
    plugin::header_changes changes;
    const auto answer = test::run(filter.headers_done(changes));
    REQUIRE(answer.ok());
    REQUIRE(changes.append.empty());
    out.prepended = changes.prepend;
    return out;
}

bool kept(headers::headers_filter& filter, std::string_view raw) {
    return filter.header(imf::parse_field(raw)) == plugin::field_action::keep;
}

}  // namespace

TEST_CASE("headers: the Authentication-Results field for each thing the session knew", "[headers][authres]") {
    session_facts facts;
    SECTION("nothing known: none") {
        CHECK(headers::authentication_results(ours, facts) == "Authentication-Results: mx.example.org; none");
    }
    SECTION("SMTP AUTH: the auth method with smtp.auth") {
        facts.user = "alice";
        CHECK(headers::authentication_results(ours, facts) ==
              "Authentication-Results: mx.example.org; auth=pass smtp.auth=alice");
    }
    SECTION("a user that is an address stays an address (RFC 8601 pvalue)") {
        facts.user = "alice@example.org";
        CHECK(headers::authentication_results(ours, facts) ==
              "Authentication-Results: mx.example.org; auth=pass smtp.auth=alice@example.org");
    }
    SECTION("a user that is neither token nor address is quoted") {
        facts.user = "Alice \"A\" Smith;x\\y";
        CHECK(headers::authentication_results(ours, facts) ==
              "Authentication-Results: mx.example.org; auth=pass smtp.auth=\"Alice \\\"A\\\" Smith;x\\\\y\"");
    }
    SECTION("TLS in a comment, after the result") {
        facts = alice_over_tls();
        CHECK(headers::authentication_results(ours, facts) ==
              "Authentication-Results: mx.example.org; auth=pass smtp.auth=alice (TLSv1.3 TLS_AES_256_GCM_SHA384)");
        facts.user.clear();
        CHECK(headers::authentication_results(ours, facts) ==
              "Authentication-Results: mx.example.org; none (TLSv1.3 TLS_AES_256_GCM_SHA384)");
    }
    SECTION("the client certificate's subject in a comment, parentheses and backslashes escaped") {
        facts = alice_over_tls();
        facts.client_certificate = true;
        facts.client_certificate_verified = true;
        facts.client_subject = "/O=Evil (Corp)\\/CN=alice";
        CHECK(headers::authentication_results(ours, facts) ==
              "Authentication-Results: mx.example.org; auth=pass smtp.auth=alice (TLSv1.3 TLS_AES_256_GCM_SHA384) "
              "(client certificate verified: /O=Evil \\(Corp\\)\\\\/CN=alice)");
        facts.client_certificate_verified = false;
        facts.client_subject = "/CN=mallory)";
        CHECK(headers::authentication_results(ours, facts) ==
              "Authentication-Results: mx.example.org; auth=pass smtp.auth=alice (TLSv1.3 TLS_AES_256_GCM_SHA384) "
              "(client certificate not verified: /CN=mallory\\))");
    }
    SECTION("control characters never reach the field") {
        facts.user = "al\r\nice";
        facts.tls = true;
        facts.tls_version = "TLS\tv1";
        const auto field = headers::authentication_results(ours, facts);
        CHECK(field.find_first_of("\r\n\t") == std::string::npos);
    }
    SECTION("a long subject is cut, the line stays under RFC 5322's 998 octets") {
        facts.tls = true;
        facts.client_certificate = true;
        facts.client_subject = "/CN=" + std::string(5000, 'x');
        const auto field = headers::authentication_results(ours, facts);
        CHECK(field.size() < 998);
        CHECK(field.find("...)") != std::string::npos);
    }
    SECTION("an authserv-id that is no token is quoted") {
        CHECK(headers::authentication_results("odd id", facts) == "Authentication-Results: \"odd id\"; none");
    }
}

TEST_CASE("headers: the authserv-id a field claims", "[headers][authres]") {
    using headers::claimed_authserv_id;
    CHECK(claimed_authserv_id("mx.example.org; none") == "mx.example.org");
    CHECK(claimed_authserv_id("mx.example.org;auth=pass") == "mx.example.org");
    CHECK(claimed_authserv_id("mx.example.org 1; none") == "mx.example.org");
    CHECK(claimed_authserv_id("  (a comment) (nested (one) \\) here) mx.example.org ; none") == "mx.example.org");
    CHECK(claimed_authserv_id("mx.example.org(comment); none") == "mx.example.org");
    CHECK(claimed_authserv_id("\"mx.example.org\"; none") == "mx.example.org");
    CHECK(claimed_authserv_id("\"mx.exa\\mple.org\"; none") == "mx.example.org");
    CHECK(claimed_authserv_id("mx.example.org/x; none") == "mx.example.org");
    CHECK_FALSE(claimed_authserv_id(""));
    CHECK_FALSE(claimed_authserv_id("   "));
    CHECK_FALSE(claimed_authserv_id("; none"));
    CHECK_FALSE(claimed_authserv_id("(unterminated mx.example.org; none"));
    CHECK_FALSE(claimed_authserv_id("\"unterminated; none"));
}

TEST_CASE("headers: forged Authentication-Results of ours are removed, in every spelling", "[headers][filter]") {
    auto filter = make_filter(alice_over_tls());
    const std::vector<std::string> forged = {
        "Authentication-Results: mx.example.org; auth=pass smtp.auth=mallory\r\n",
        "authentication-results: MX.Example.ORG; auth=pass\r\n",
        "AUTHENTICATION-RESULTS:mx.example.org;none\r\n",
        "Authentication-Results:\r\n mx.example.org;\r\n\tauth=pass smtp.auth=mallory\r\n",
        "Authentication-Results: (forged) (by (someone)) mx.example.org (here); dkim=pass\r\n",
        "Authentication-Results: \"mx.example.org\"; spf=pass\r\n",
        "Authentication-Results: mx.example.org 1; auth=pass\r\n",
        "Authentication-Results\t : mx.example.org; auth=pass\r\n",  // obsolete white space before the colon
        "Authentication-Results: mx.example.org/x; auth=pass\r\n",
    };
    for (const auto& raw : forged) {
        INFO(raw);
        CHECK_FALSE(kept(filter, raw));
    }
    CHECK(filter.forged_removed() == forged.size());
}

TEST_CASE("headers: Authentication-Results of other servers are kept", "[headers][filter]") {
    auto filter = make_filter(alice_over_tls());
    const std::vector<std::string> others = {
        "Authentication-Results: relay.example.net; dkim=pass header.d=example.net\r\n",
        "Authentication-Results: mx.example.org.evil; auth=pass\r\n",
        "Authentication-Results: example.org; auth=pass\r\n",
        "Authentication-Results: (mx.example.org) other.example; none\r\n",
        "Authentication-Results: \"mx.example.org \"; none\r\n",
        "X-Authentication-Results: mx.example.org; auth=pass\r\n",
        "Subject: mx.example.org; auth=pass\r\n",
    };
    for (const auto& raw : others) {
        INFO(raw);
        CHECK(kept(filter, raw));
    }
    CHECK(filter.forged_removed() == 0);
}

TEST_CASE("headers: the filter prepends one field and passes the rest", "[headers][filter]") {
    auto filter = make_filter(alice_over_tls());
    const std::string block =
        "Authentication-Results: relay.example.net; spf=pass smtp.mailfrom=example.net\r\n"
        "Authentication-Results: mx.example.org; auth=pass smtp.auth=mallory\r\n"
        "Received: from laptop by lan-relay\r\n"
        "Subject: hi\r\n";
    const auto out = run_filter(filter, block);
    CHECK(out.kept ==
          std::vector<std::string>{"Authentication-Results: relay.example.net; spf=pass smtp.mailfrom=example.net\r\n",
                                   "Received: from laptop by lan-relay\r\n", "Subject: hi\r\n"});
    CHECK(out.prepended == std::vector<std::string>{"Authentication-Results: mx.example.org; auth=pass "
                                                    "smtp.auth=alice (TLSv1.3 TLS_AES_256_GCM_SHA384)"});
}

TEST_CASE("headers: with add_authentication_results off, forged fields still go", "[headers][filter]") {
    auto filter = make_filter(session_facts{}, false, false);
    const auto out = run_filter(filter, "Authentication-Results: mx.example.org; none\r\nSubject: hi\r\n");
    CHECK(out.kept == std::vector<std::string>{"Subject: hi\r\n"});
    CHECK(out.prepended.empty());
}

TEST_CASE("headers: Received fields go only from authenticated submissions, and only when configured",
          "[headers][filter][received]") {
    const std::string block =
        "Received: from laptop ([192.168.1.20]) by lan-relay\r\n"
        "received : from phone by laptop\r\n"
        "Received:\r\n from elsewhere\r\n"
        "Subject: hi\r\n";
    SECTION("authenticated and configured: every Received of the client goes") {
        auto filter = make_filter(alice_over_tls(), true);
        CHECK(run_filter(filter, block).kept == std::vector<std::string>{"Subject: hi\r\n"});
        CHECK(filter.received_removed() == 3);
    }
    SECTION("authenticated, not configured: kept") {
        auto filter = make_filter(alice_over_tls(), false);
        CHECK(run_filter(filter, block).kept.size() == 4);
    }
    SECTION("configured, not authenticated (TLS is not enough): kept") {
        auto facts = alice_over_tls();
        facts.user.clear();
        auto filter = make_filter(facts, true);
        CHECK(run_filter(filter, block).kept.size() == 4);
        CHECK(filter.received_removed() == 0);
    }
}

TEST_CASE("headers: what the filter keeps of the event context", "[headers][context]") {
    tls::channel_info channel;
    channel.version = "TLSv1.2";
    channel.cipher = "ECDHE-ECDSA-AES128-GCM-SHA256";
    channel.peer.present = true;
    channel.peer.verified = true;
    channel.peer.subject = "/CN=alice";
    plugin::envelope envelope;
    envelope.authenticated_user = "alice";
    plugin::event_context context;
    context.envelope = &envelope;
    context.tls = &channel;
    const auto facts = headers::facts_of(context);
    CHECK(facts.user == "alice");  // from the envelope when the context has no user
    CHECK(facts.tls);
    CHECK(facts.tls_version == "TLSv1.2");
    CHECK(facts.tls_cipher == "ECDHE-ECDSA-AES128-GCM-SHA256");
    CHECK(facts.client_certificate);
    CHECK(facts.client_certificate_verified);
    CHECK(facts.client_subject == "/CN=alice");
    const auto clear = headers::facts_of(plugin::event_context{});
    CHECK_FALSE(clear.tls);
    CHECK(clear.user.empty());
}
