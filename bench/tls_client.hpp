// A minimal blocking wolfSSL client for the benchmark programs (not the server's code).
#pragma once

// clang-format off
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
// clang-format on

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>

namespace bench {

inline WOLFSSL_CTX* client_context() {
    static WOLFSSL_CTX* ctx = [] {
        wolfSSL_Init();
        WOLFSSL_CTX* c = wolfSSL_CTX_new(wolfTLS_client_method());
        wolfSSL_CTX_set_verify(c, WOLFSSL_VERIFY_NONE, nullptr);  // measuring, not trusting
        return c;
    }();
    return ctx;
}

// Connects from 127.0.0.(1 + index % 250) so neither per-address limits nor ephemeral ports interfere.
inline int connect_loopback(const std::string& host, int port, int index) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    sockaddr_in source{};
    source.sin_family = AF_INET;
    source.sin_addr.s_addr = htonl(0x7f000001u + static_cast<unsigned>(index % 250));
    ::bind(fd, reinterpret_cast<sockaddr*>(&source), sizeof source);
    sockaddr_in target{};
    target.sin_family = AF_INET;
    target.sin_port = htons(static_cast<std::uint16_t>(port));
    ::inet_pton(AF_INET, host.c_str(), &target.sin_addr);
    timeval timeout{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&target), sizeof target) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// Handshakes over fd and reads the greeting; null on failure (fd is then closed).
inline WOLFSSL* tls_session(int fd) {
    WOLFSSL* ssl = wolfSSL_new(client_context());
    wolfSSL_set_fd(ssl, fd);
    char greeting[512];
    if (wolfSSL_connect(ssl) != WOLFSSL_SUCCESS || wolfSSL_read(ssl, greeting, sizeof greeting) <= 0) {
        wolfSSL_free(ssl);
        ::close(fd);
        return nullptr;
    }
    return ssl;
}

}  // namespace bench
