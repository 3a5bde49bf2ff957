// Does a failed login reveal whether the user exists? Times verify_password through the passwd-file plugin
// for a wrong password of a real user and for a user that does not exist, interleaved, and prints both
// distributions.
//   mailwright-bench-auth-timing [--scheme YESCRYPT] [--rounds 200]
#include <fmt/format.h>
#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mailwright/log/log.hpp>
#include <mailwright/plugin/fixed_settings.hpp>
#include <mailwright/plugin/host.hpp>
#include <mailwright/sasl/password.hpp>
#include <vector>

using namespace mailwright;

namespace {
struct summary {
    double p10, p50, p90, p99, mean;
};
summary summarize(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    auto at = [&](double p) { return v[static_cast<std::size_t>(p * (v.size() - 1))]; };
    double sum = 0;
    for (double x : v) {
        sum += x;
    }
    return {at(0.1), at(0.5), at(0.9), at(0.99), sum / v.size()};
}
}  // namespace

int main(int argc, char** argv) {
    std::string scheme_name = "YESCRYPT";
    int rounds = 200;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::string_view(argv[i]) == "--scheme") {
            scheme_name = argv[i + 1];
        } else if (std::string_view(argv[i]) == "--rounds") {
            rounds = std::stoi(argv[i + 1]);
        }
    }
    const auto scheme = sasl::parse_scheme(scheme_name);
    if (!scheme || rounds < 10) {
        fmt::print(stderr, "usage: {} [--scheme YESCRYPT|SHA512-CRYPT|BLF-CRYPT|ARGON2ID|SCRAM-SHA-256] [--rounds N]\n",
                   argv[0]);
        return 2;
    }
    log::init(log::level::warn);
    const auto file = std::filesystem::temp_directory_path() / "mailwright-bench-passwd";
    {
        std::ofstream out(file);
        for (int u = 0; u < 50; ++u) {
            out << "user" << u << ":" << sasl::hash_password(*scheme, "password" + std::to_string(u)) << "\n";
        }
    }
    plugin::fixed_settings settings{{"file", file.string()}};
    plugin::host host({.search_path = plugin::default_search_path()});
    host.load({{"passwd-file", &settings}});
    std::vector<double> wrong_password, unknown_user;
    asio::io_context io;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            for (int i = 0; i < rounds; ++i) {
                for (int kind = 0; kind < 2; ++kind) {
                    const std::string user = kind == 0 ? "user" + std::to_string(i % 50) : "ghost" + std::to_string(i);
                    const auto start = std::chrono::steady_clock::now();
                    co_await host.auth().verify_password(user, "not the password");
                    (kind == 0 ? wrong_password : unknown_user)
                        .push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                                       .count());
                }
            }
        },
        asio::detached);
    io.run();
    std::filesystem::remove(file);
    const auto a = summarize(wrong_password);
    const auto b = summarize(unknown_user);
    fmt::print(
        "auth timing ({}, {} rounds): wrong password p10 {:.2f} p50 {:.2f} p90 {:.2f} p99 {:.2f} mean {:.2f} ms"
        " | unknown user p10 {:.2f} p50 {:.2f} p90 {:.2f} p99 {:.2f} mean {:.2f} ms | median difference "
        "{:+.2f}%\n",
        scheme_name, rounds, a.p10, a.p50, a.p90, a.p99, a.mean, b.p10, b.p50, b.p90, b.p99, b.mean,
        (b.p50 - a.p50) / a.p50 * 100);
    fmt::print(R"({{"bench":"auth_timing","scheme":"{}","rounds":{},"wrong_p50_ms":{:.3f},"unknown_p50_ms":{:.3f},)"
               R"("wrong_p99_ms":{:.3f},"unknown_p99_ms":{:.3f}}})"
               "\n",
               scheme_name, rounds, a.p50, b.p50, a.p99, b.p99);
    return 0;
}
