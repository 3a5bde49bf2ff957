// The one place that includes wolfSSL. options.h must come first: it carries the build's feature macros, and
// without it the structures seen here would not match the library's.
#pragma once

// clang-format off
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
// clang-format on

#include <memory>
#include <string>

#include "client_context.hpp"
#include "mailwright/tls/context.hpp"

namespace mailwright::tls {

// wolfSSL's text for an error code.
std::string error_text(int code);

// Starts wolfSSL once per process.
void ensure_initialised();

struct ctx_deleter {
    void operator()(WOLFSSL_CTX* c) const noexcept { wolfSSL_CTX_free(c); }
};
using ctx_ptr = std::unique_ptr<WOLFSSL_CTX, ctx_deleter>;

struct sni_entry {
    std::vector<std::string> names;  // lowercase; "*.example.org" matches one label
    ctx_ptr ctx;
};

struct context::impl {
    tls::settings settings;
    ctx_ptr main;
    std::vector<sni_entry> sni;

    // The context whose certificate serves `server_name`, or null for the default.
    WOLFSSL_CTX* for_name(std::string_view server_name) const;
};

struct client_context::impl {
    client_settings settings;
    std::string pin;  // lowercase hex
    ctx_ptr ctx;
};

}  // namespace mailwright::tls
