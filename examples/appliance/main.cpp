// A mail appliance in one program: submission (RFC 6409) to send, POP3 over implicit TLS (RFC 8314) to read,
// Maildirs to keep the mail. No TOML and no shared libraries: the example-auth and maildir plugins are linked
// in (CMakeLists.txt) and configured here, and the two services are the framework's own, as mailwrightd uses.
//
//   ./appliance /tmp/appliance 9995 5587      (DATA_DIR POP3S_PORT SUBMISSION_PORT; port 0: the kernel picks)
//
// Then send as alice@appliance.test (password "wonderland") on 5587 after STARTTLS, and read on 9995. The
// certificate is DATA_DIR/tls/cert.pem with its key in key.pem: put yours there, or a self-signed one is made.
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <mailwright/log/log.hpp>
#include <mailwright/plugin/fixed_settings.hpp>
#include <mailwright/plugin/host.hpp>
#include <mailwright/pop3/service.hpp>
#include <mailwright/server/server.hpp>
#include <mailwright/smtp/service.hpp>
#include <mailwright/tls/certificate.hpp>
#include <mailwright/tls/context.hpp>
#include <stdexcept>

namespace mw = mailwright;

int main(int argc, char** argv) try {
    if (argc != 4) {
        std::fprintf(stderr, "usage: %s DATA_DIR POP3S_PORT SUBMISSION_PORT\n", argv[0]);
        return 2;
    }
    const auto data = std::filesystem::absolute(argv[1]);
    const auto port = [](std::string_view text) {  // checked before anything starts
        unsigned n = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
        if (ec != std::errc{} || end != text.data() + text.size() || n > 65535) {
            throw std::invalid_argument("not a port number: " + std::string(text));
        }
        return static_cast<std::uint16_t>(n);
    };
    const auto pop3s_port = port(argv[2]), submission_port = port(argv[3]);
    mw::log::init(mw::log::level::info);  // on stderr, as mailwrightd logs: "listening listener=... address=..."

    // The plugins and their settings, in code. A host without a search path loads linked-in plugins only.
    mw::plugin::fixed_settings users{{"users", std::vector<std::string>{"alice:wonderland"}}};
    mw::plugin::fixed_settings maildir{{"path", (data / "mail/%u/Maildir").string()}};
    mw::plugin::fixed_settings headers;  // Authentication-Results on every message, with its defaults
    mw::plugin::host plugins({});
    plugins.load({{"example-auth", &users}, {"maildir", &maildir}, {"headers", &headers}});
    for (const auto* settings : {&users, &maildir, &headers}) {
        if (!settings->problems().empty()) {  // a value a plugin found wrong: load() leaves that to us to report
            std::fprintf(stderr, "appliance: plugin setting %s\n", settings->problems().front().c_str());
            return 2;
        }
    }

    // One TLS context for both listeners, behind a holder that could swap it for a renewed certificate.
    const auto cert = (data / "tls/cert.pem").string(), key = (data / "tls/key.pem").string();
    std::filesystem::create_directories(data / "tls");
    mw::tls::ensure_self_signed(cert, key, {"localhost"});  // keeps a certificate and key already there
    auto tls = std::make_shared<mw::tls::context_holder>(mw::tls::context::create({.certificate = cert, .key = key}));

    // One table of failed logins for both services: a password guesser gains nothing by switching ports.
    auto penalty = std::make_shared<mw::sasl::failure_penalty>();
    const std::string domain = "appliance.test";  // the host name, and so the one local mail domain

    auto pop3s = std::make_shared<mw::pop3::service>(
        mw::pop3::options{.hostname = domain},
        mw::pop3::environment{.auth = &plugins.auth(), .store = plugins.store(), .penalty = penalty});

    // Submission: STARTTLS before anything else, then AUTH, then MAIL from the user's own address to local
    // users only (there is no outbound queue). The service enforces each step; here we only ask for it.
    auto submission = std::make_shared<mw::smtp::service>(
        mw::smtp::options{
            .kind = mw::smtp::role::submission, .hostname = domain, .auth_requires_tls = true, .require_tls = true},
        mw::smtp::environment{.auth = &plugins.auth(),
                              .store = plugins.store(),
                              .penalty = penalty,
                              .filters = [&plugins](const auto& context) { return plugins.make_filters(context); }});

    // Declared after the plugin host, so it is destroyed first: no session outlives the plugins it calls.
    mw::server::server server({.workers = 1});  // SIGTERM or SIGINT: a graceful shutdown
    server.add_listener({.name = "pop3s",
                         .addresses = {"127.0.0.1"},
                         .port = pop3s_port,
                         .handler = pop3s,
                         .tls_mode = mw::tls::mode::implicit,
                         .tls = tls});
    server.add_listener({.name = "submission",
                         .addresses = {"127.0.0.1"},
                         .port = submission_port,
                         .handler = submission,
                         .tls_mode = mw::tls::mode::starttls,
                         .tls = tls});
    server.run();
    return 0;
} catch (const std::exception& e) {  // a plugin that fails to load, a bad certificate, a port in use
    std::fprintf(stderr, "appliance: %s\n", e.what());
    return 1;
}
