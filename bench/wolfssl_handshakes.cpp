// The baseline for TLS handshakes: what wolfSSL itself does on this machine, with no network and no server
// code around it. A client and a server object talk through two memory buffers in one thread, full TLS 1.3
// handshakes (no resumption) with the certificate and key given (ECDSA P-256 in bench/tls.sh), one after
// another for the time asked. Then it holds --hold established server sessions and reports the heap each one
// keeps (mallinfo2), the figure the idle-memory target depends on.
//   mailwright-bench-wolfssl --cert CERT.pem --key KEY.pem [--seconds 5] [--hold 1000] [--group X25519|P-256]
// Prints a human line and one JSON line; never run as a test.

// clang-format off
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
// clang-format on

#include <fmt/core.h>
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace {

// One direction of the conversation.
struct pipe {
    std::string data;
    std::size_t at = 0;
};

struct ends {
    pipe* in;
    pipe* out;
};

int receive(WOLFSSL*, char* buffer, int size, void* context) {
    pipe& p = *static_cast<ends*>(context)->in;
    const std::size_t n = std::min(static_cast<std::size_t>(size), p.data.size() - p.at);
    if (n == 0) {
        return WOLFSSL_CBIO_ERR_WANT_READ;
    }
    std::memcpy(buffer, p.data.data() + p.at, n);
    p.at += n;
    if (p.at == p.data.size()) {
        p.data.clear();
        p.at = 0;
    }
    return static_cast<int>(n);
}

int send(WOLFSSL*, char* buffer, int size, void* context) {
    static_cast<ends*>(context)->out->data.append(buffer, static_cast<std::size_t>(size));
    return size;
}

struct pair {
    pipe to_server, to_client;
    ends server_io{&to_server, &to_client};
    ends client_io{&to_client, &to_server};
    WOLFSSL* server = nullptr;
    WOLFSSL* client = nullptr;
    ~pair() {
        wolfSSL_free(server);
        wolfSSL_free(client);
    }
};

// Time spent inside the server's calls (wolfSSL_new, wolfSSL_accept): the server's share of a handshake, the
// figure to hold a server's handshakes per CPU-second against.
std::chrono::steady_clock::duration server_time{};

// A full handshake between fresh objects; false on any failure.
bool handshake(WOLFSSL_CTX* server_ctx, WOLFSSL_CTX* client_ctx, pair& p) {
    const auto made = std::chrono::steady_clock::now();
    p.server = wolfSSL_new(server_ctx);
    server_time += std::chrono::steady_clock::now() - made;
    p.client = wolfSSL_new(client_ctx);
    if (p.server == nullptr || p.client == nullptr) {
        return false;
    }
    wolfSSL_SetIOReadCtx(p.server, &p.server_io);
    wolfSSL_SetIOWriteCtx(p.server, &p.server_io);
    wolfSSL_SetIOReadCtx(p.client, &p.client_io);
    wolfSSL_SetIOWriteCtx(p.client, &p.client_io);
    bool client_done = false;
    bool server_done = false;
    for (int round = 0; round < 20 && !(client_done && server_done); ++round) {
        if (!client_done) {
            if (wolfSSL_connect(p.client) == WOLFSSL_SUCCESS) {
                client_done = true;
            } else if (wolfSSL_get_error(p.client, 0) != WOLFSSL_ERROR_WANT_READ) {
                return false;
            }
        }
        if (!server_done) {
            const auto before = std::chrono::steady_clock::now();
            const int accepted = wolfSSL_accept(p.server);
            server_time += std::chrono::steady_clock::now() - before;
            if (accepted == WOLFSSL_SUCCESS) {
                server_done = true;
            } else if (wolfSSL_get_error(p.server, 0) != WOLFSSL_ERROR_WANT_READ) {
                return false;
            }
        }
    }
    return client_done && server_done;
}

std::size_t heap_in_use() { return mallinfo2().uordblks; }

}  // namespace

int main(int argc, char** argv) {
    std::string cert;
    std::string key;
    double seconds = 5;
    int hold = 1000;
    std::string group = "X25519";  // or P-256: the key exchange the client offers
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view flag = argv[i];
        if (flag == "--cert") {
            cert = argv[i + 1];
        } else if (flag == "--key") {
            key = argv[i + 1];
        } else if (flag == "--seconds") {
            seconds = std::stod(argv[i + 1]);
        } else if (flag == "--hold") {
            hold = std::stoi(argv[i + 1]);
        } else if (flag == "--group") {
            group = argv[i + 1];
        }
    }
    if (cert.empty() || key.empty()) {
        fmt::print(stderr,
                   "usage: {} --cert CERT.pem --key KEY.pem [--seconds 5] [--hold 1000] [--group X25519|P-256]\n",
                   argv[0]);
        return 2;
    }
    wolfSSL_Init();
    WOLFSSL_CTX* server_ctx = wolfSSL_CTX_new(wolfTLSv1_3_server_method());
    WOLFSSL_CTX* client_ctx = wolfSSL_CTX_new(wolfTLSv1_3_client_method());
    if (server_ctx == nullptr || client_ctx == nullptr ||
        wolfSSL_CTX_use_certificate_chain_file(server_ctx, cert.c_str()) != WOLFSSL_SUCCESS ||
        wolfSSL_CTX_use_PrivateKey_file(server_ctx, key.c_str(), WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS) {
        fmt::print(stderr, "cannot load {} and {}\n", cert, key);
        return 1;
    }
    wolfSSL_CTX_set_verify(client_ctx, WOLFSSL_VERIFY_NONE, nullptr);
    for (WOLFSSL_CTX* ctx : {server_ctx, client_ctx}) {
        wolfSSL_CTX_SetIORecv(ctx, receive);
        wolfSSL_CTX_SetIOSend(ctx, send);
        wolfSSL_CTX_set_session_cache_mode(ctx, WOLFSSL_SESS_CACHE_OFF);  // every handshake a full one
    }
    // The key exchange group the client offers (X25519 by default, as modern clients do first); the server
    // signs with the certificate's key whatever the group.
    int groups[] = {group == "P-256" ? WOLFSSL_ECC_SECP256R1 : WOLFSSL_ECC_X25519};
    if ((group != "X25519" && group != "P-256") || wolfSSL_CTX_set_groups(client_ctx, groups, 1) != WOLFSSL_SUCCESS) {
        fmt::print(stderr, "key exchange group {} not available (X25519 or P-256)\n", group);
        return 2;
    }

    // Handshakes per second, one core.
    const auto start = std::chrono::steady_clock::now();
    const auto until = start + std::chrono::duration<double>(seconds);
    long done = 0;
    long failed = 0;
    while (std::chrono::steady_clock::now() < until) {
        pair p;
        if (handshake(server_ctx, client_ctx, p)) {
            ++done;
        } else {
            ++failed;
        }
    }
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double rate = static_cast<double>(done) / elapsed;
    const double server_rate = static_cast<double>(done) / std::chrono::duration<double>(server_time).count();

    // Heap held per established server session: `hold` of them, with their clients freed.
    const std::size_t before = heap_in_use();
    std::vector<std::unique_ptr<pair>> held;
    for (int i = 0; i < hold; ++i) {
        auto p = std::make_unique<pair>();
        if (!handshake(server_ctx, client_ctx, *p)) {
            ++failed;
            continue;
        }
        wolfSSL_free(p->client);
        p->client = nullptr;
        p->to_server.data.shrink_to_fit();
        p->to_client.data.shrink_to_fit();
        held.push_back(std::move(p));
    }
    const std::size_t after = heap_in_use();
    const double per_session_kib =
        held.empty() ? 0.0 : static_cast<double>(after - before) / static_cast<double>(held.size()) / 1024.0;

    fmt::print(
        "wolfSSL {} in memory: {:.0f} full TLS 1.3 handshakes/s on one core, client and server ({} group, {} failed); "
        "the server's side alone: {:.0f} handshakes per CPU-second; {:.1f} KiB of heap per established server "
        "session ({} held)\n",
        wolfSSL_lib_version(), rate, group, failed, server_rate, per_session_kib, held.size());
    fmt::print(
        "{{\"bench\":\"wolfssl\",\"version\":\"{}\",\"group\":\"{}\",\"handshakes_per_second\":{:.1f},"
        "\"server_handshakes_per_cpu_second\":{:.1f},\"failed\":{},\"heap_kib_per_session\":{:.2f},\"held\":{}}}\n",
        wolfSSL_lib_version(), group, rate, server_rate, failed, per_session_kib, held.size());
    held.clear();
    wolfSSL_CTX_free(server_ctx);
    wolfSSL_CTX_free(client_ctx);
    wolfSSL_Cleanup();
    return failed == 0 ? 0 : 1;
}
