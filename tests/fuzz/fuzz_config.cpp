// mailwright::config::load_string, the daemon's TOML configuration, with the services mailwrightd serves
// (examples/mailwrightd/main.cpp: "echo", "lmtp", "pop3", "smtp") and their own tables, which the services
// read (pop3::read_settings, smtp::read_settings):
//  - either a configuration or at least one error, never both and never neither;
//  - every error names the source and says something; its position lies inside the text;
//  - a configuration has at least one listener, each with a name, a service the schema (or a [plugin.X]
//    section) provides, and sane limits; a pop3, smtp or lmtp listener has its service's options.
//
// Input: the text of a configuration file.
#include <algorithm>
#include <any>
#include <asio/ip/address.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "mailwright/config/config.hpp"
#include "mailwright/pop3/service.hpp"
#include "mailwright/sasl/mechanism.hpp"
#include "mailwright/smtp/service.hpp"

namespace {

std::any pop3_settings(mailwright::config::section_reader& section, std::string_view) {
    return mailwright::pop3::read_settings(section);
}
std::any smtp_settings(mailwright::config::section_reader& section, std::string_view service) {
    return mailwright::smtp::read_settings(section, service);
}

const std::string_view services[] = {"echo", "lmtp", "pop3", "smtp"};
const mailwright::config::service_section sections[] = {
    {"pop3", "pop3", pop3_settings},
    {"smtp", "smtp", smtp_settings},
    {"lmtp", "smtp", smtp_settings},
};
const mailwright::config::schema schema{services, sections};
constexpr std::string_view source = "fuzz.toml";
// MAILWRIGHT_FUZZ_SHOW=1 prints each result (for reading a reproducer).
bool show = false;

// Known (regressions/fuzz_config): a float beyond int64's range where the config reader
// (src/config/table_reader.cpp) asks toml++ for an integer is converted with undefined behaviour. Whether the text
// holds such a float, roughly: any run of number characters with an exponent or a point that strtod reads as that
// large.
bool huge_float(const std::string& text) {
    auto number_char = [](char c) {
        return (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.' || c == '_' || c == 'e' || c == 'E';
    };
    for (std::size_t at = 0; at < text.size();) {
        if (!number_char(text[at])) {
            ++at;
            continue;
        }
        std::string run;
        for (; at < text.size() && number_char(text[at]); ++at) {
            if (text[at] != '_') {
                run += text[at];
            }
        }
        if (run.find_first_of(".eE") != std::string::npos) {
            const double v = std::strtod(run.c_str(), nullptr);
            if (v >= 9.2e18 || v <= -9.2e18) {
                return true;
            }
        }
    }
    return false;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    show = std::getenv("MAILWRIGHT_FUZZ_SHOW") != nullptr;
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    if (mailwright::fuzz::skip_known() && huge_float(text)) {
        return 0;
    }
    const auto result = mailwright::config::load_string(text, source, schema);
    if (show) {
        std::fprintf(stderr, "--- %s, %zu errors\n", result.config ? "a configuration" : "no configuration",
                     result.errors.size());
        for (const auto& e : result.errors) {
            std::fprintf(stderr, "%s\n", e.to_string().c_str());
        }
    }

    FUZZ_CHECK(result.config.has_value() != !result.errors.empty(), "a configuration XOR errors");

    const auto lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
    for (const auto& e : result.errors) {
        FUZZ_CHECK(!e.message.empty(), "an error without a message");
        FUZZ_CHECK(e.file == source, "an error names another file");
        FUZZ_CHECK(e.line <= lines, "an error points past the last line");
        FUZZ_CHECK(e.line != 0 || e.column == 0, "a column without a line");
        const std::string shown = e.to_string();
        FUZZ_CHECK(shown.starts_with(source) && shown.find(e.message) != std::string::npos,
                   "to_string() does not show the file and the message");
    }

    if (result.config) {
        const auto& c = *result.config;
        FUZZ_CHECK(c.file == source, "the configuration does not say where it came from");
        FUZZ_CHECK(!c.listeners.empty(), "a configuration without listeners");
        for (const auto& l : c.listeners) {
            FUZZ_CHECK(!l.name.empty(), "a listener without a name");
            const bool builtin = std::find(std::begin(services), std::end(services), l.service) != std::end(services);
            const bool from_plugin =
                std::any_of(c.plugins.sections.begin(), c.plugins.sections.end(),
                            [&](const mailwright::config::plugin_section& p) { return p.name == l.service; });
            FUZZ_CHECK(builtin || from_plugin, "a listener for a service nobody provides");
            FUZZ_CHECK(!l.addresses.empty(), "a listener without an address");
            // The ranges src/config/listener.cpp promises ([[listener]] keys, docs/configuration.md).
            FUZZ_CHECK(l.max_line == 0 || (l.max_line >= 64 && l.max_line <= (1u << 20)), "max_line out of range");
            FUZZ_CHECK(l.max_auth_failures >= 1 && l.max_auth_failures <= 100, "max_auth_failures out of range");
            FUZZ_CHECK(l.max_bad_commands <= 1000, "max_bad_commands out of range");
            FUZZ_CHECK(l.read_timeout.count() == 0 ||
                           (l.read_timeout >= std::chrono::seconds(1) && l.read_timeout <= std::chrono::hours(24)),
                       "read_timeout out of range");
            for (const auto& m : l.auth_mechanisms) {
                const auto known = mailwright::sasl::mechanisms();
                FUZZ_CHECK(std::any_of(known.begin(), known.end(), [&](const auto& info) { return info.name == m; }),
                           "an unknown SASL mechanism was accepted");
            }
            for (const auto& a : l.addresses) {
                std::error_code ec;
                asio::ip::make_address(a, ec);
                // make_address() reads a C string: text after a NUL would go unchecked.
                const bool known = mailwright::fuzz::skip_known() && !ec;  // regressions/fuzz_config: a NUL
                FUZZ_CHECK(!ec && (known || a.find('\0') == std::string::npos),
                           "an address that is not a numeric IP was accepted");
            }
            if (l.service == "pop3") {
                FUZZ_CHECK(std::any_cast<mailwright::pop3::options>(&l.settings) != nullptr,
                           "a pop3 listener without POP3 options");
            } else if (l.service == "smtp" || l.service == "lmtp") {
                const auto* o = std::any_cast<mailwright::smtp::options>(&l.settings);
                FUZZ_CHECK(o != nullptr, "an smtp or lmtp listener without SMTP options");
                FUZZ_CHECK((o->kind == mailwright::smtp::role::lmtp) == (l.service == "lmtp"), "the wrong SMTP role");
                FUZZ_CHECK(o->max_message_size >= 1024 && o->max_recipients >= 1, "an SMTP limit out of range");
            }
            if (l.tls_mode != mailwright::tls::mode::none) {
                FUZZ_CHECK(!l.tls.certificate.empty() && !l.tls.key.empty(), "a TLS listener without a certificate");
            }
        }
        const auto names_unique = [&] {
            for (std::size_t i = 0; i < c.listeners.size(); ++i) {
                for (std::size_t j = i + 1; j < c.listeners.size(); ++j) {
                    if (c.listeners[i].name == c.listeners[j].name) {
                        return false;
                    }
                }
            }
            return true;
        };
        FUZZ_CHECK(names_unique(), "two listeners share a name");
    }
    return 0;
}
