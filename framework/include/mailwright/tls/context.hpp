// A server TLS context built from settings: the certificates (default and per-SNI name), versions, ciphers,
// client-certificate policy. Immutable once built; sessions hold it by shared_ptr, so a reload (SIGHUP)
// builds a new one while sessions that started on the old one keep it.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "mailwright/tls/settings.hpp"

namespace mailwright::tls {

class context {
  public:
    // Throws std::runtime_error naming the file and what is wrong (unreadable, not PEM, key does not match
    // the certificate, ...).
    static std::shared_ptr<const context> create(const settings& s);

    ~context();
    context(const context&) = delete;
    context& operator=(const context&) = delete;

    const tls::settings& settings() const noexcept;

    struct impl;
    const impl& internals() const noexcept;

  private:
    explicit context(std::unique_ptr<impl> i);
    std::unique_ptr<impl> impl_;
};

// Frees what wolfSSL keeps per thread (the ECC fixed-point cache, about 800 KiB once a thread has done a
// handshake). A thread that did TLS work calls it before it ends; the server's workers do.
void release_thread_state() noexcept;

// The context a listener currently uses. Replaced as a whole on reload; safe from any thread.
class context_holder {
  public:
    explicit context_holder(std::shared_ptr<const context> initial);

    std::shared_ptr<const context> get() const;
    void set(std::shared_ptr<const context> next);

  private:
    mutable std::mutex mutex_;
    std::shared_ptr<const context> current_;
};

}  // namespace mailwright::tls
