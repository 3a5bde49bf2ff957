// A session whose client's TLS a trusted proxy ended (session_options::proxied_tls, from a PROXY v2 header's SSL
// TLV): it is in TLS from its first line, so require_tls and the plaintext-password rule are satisfied, STARTTLS
// is refused as already active, no -PLUS mechanism is offered, and the trace says ESMTPSA. The same dialogue
// without those facts is refused, as the control.
#include <catch2/catch.hpp>
#include <string>

#include "mailwright/sasl/crypto.hpp"
#include "smtp_fixture.hpp"

using namespace smtp_test;
using namespace std::string_literals;

namespace {

const std::string plain_alice = mailwright::sasl::base64_encode("\0alice\0secret"s);
const std::string dialogue_text = "EHLO client.example\r\nSTARTTLS\r\nAUTH PLAIN " + plain_alice +
                                  "\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n"
                                  "Subject: proxied\r\n\r\nHello.\r\n.\r\nQUIT\r\n";

mailwright::tls::channel_info proxied_channel() {
    mailwright::tls::channel_info c;
    c.version = "TLSv1.3";
    c.cipher = "TLS_AES_256_GCM_SHA384";
    c.server_name = "mx.example.org";
    return c;
}

std::string serve_with(world& w, std::optional<mailwright::tls::channel_info> tls) {
    auto o = world::default_options(mailwright::smtp::role::submission);
    o.require_tls = true;
    o.plaintext_auth = false;
    o.mechanisms = {"SCRAM-SHA-256-PLUS", "PLAIN"};
    auto svc = w.make(o);
    auto stream = std::make_unique<mailwright::testing::memory_stream>(each(dialogue_text));
    auto* raw = stream.get();
    mailwright::test::dialogue d{
        raw, std::make_unique<server::session>(
                 std::move(stream),
                 server::session_info{.id = 1, .peer = {"192.0.2.7", 40000}, .local = {}, .listener = "submission"},
                 server::session_options{.limits = {.max_line = 2048}, .proxied_tls = std::move(tls)})};
    return serve(*svc, d);
}

}  // namespace

TEST_CASE("proxied TLS: the session is in TLS from the start, without channel binding", "[session][proxy]") {
    world w;
    const auto out = serve_with(w, proxied_channel());
    INFO(out);
    CHECK(out.find("250 AUTH PLAIN\r\n") != std::string::npos);  // no SCRAM-SHA-256-PLUS: nothing to bind to
    CHECK(out.find("STARTTLS\r\n") == std::string::npos);        // not offered
    CHECK(out.find("503 5.5.1 TLS is already active") != std::string::npos);
    CHECK(out.find("235 2.7.0") != std::string::npos);
    REQUIRE(w.store->messages() == 1);
    CHECK(w.store->boxes["bob"].front().find(" with ESMTPSA ") != std::string::npos);
}

TEST_CASE("proxied TLS: without it the same client is told to start TLS first", "[session][proxy]") {
    world w;
    const auto out = serve_with(w, std::nullopt);
    INFO(out);
    CHECK(out.find("AUTH") == std::string::npos);
    CHECK(out.find("530 5.7.0 Must issue a STARTTLS command first") != std::string::npos);
    CHECK(w.store->messages() == 0);
}
