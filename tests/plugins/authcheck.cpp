// Test service plugin: a line protocol that checks credentials against the host's auth chain.
//   CHECK <user> <password>  ->  "OK <user> <note>" | "NO" | "TEMPFAIL"
//   THROW                    ->  the service throws an int, no std::exception (the session's fault barrier)
#include <fmt/format.h>

#include <mailwright/plugin/auth.hpp>
#include <mailwright/plugin/service.hpp>
#include <mailwright/server/session.hpp>

namespace mw = mailwright;

namespace {

class authcheck_service final : public mw::server::service {
  public:
    explicit authcheck_service(mw::plugin::auth_backend& auth) : auth_(auth) {}
    std::string_view name() const override { return "authcheck"; }
    std::string refusal_line(mw::server::refusal) const override { return "BUSY\r\n"; }

    asio::awaitable<void> serve(mw::server::session& s) override {
        s.reply("READY\r\n");
        for (;;) {
            const auto r = co_await s.read_line();
            if (r.status != mw::server::read_status::line) {
                co_return;
            }
            const std::string line(r.line);
            if (line == "THROW") {
                throw 1;
            }
            const auto first = line.find(' ');
            const auto second = first == std::string::npos ? first : line.find(' ', first + 1);
            if (!line.starts_with("CHECK ") || second == std::string::npos) {
                s.reply("BAD\r\n");
                continue;
            }
            const auto result =
                co_await auth_.verify_password(line.substr(first + 1, second - first - 1), line.substr(second + 1));
            switch (result.status) {
                case mw::plugin::auth_status::ok:
                    s.reply(fmt::format("OK {} {}\r\n", result.user, result.message));
                    break;
                case mw::plugin::auth_status::rejected:
                    s.reply("NO\r\n");
                    break;
                case mw::plugin::auth_status::tempfail:
                    s.reply("TEMPFAIL\r\n");
                    break;
            }
        }
    }

  private:
    mw::plugin::auth_backend& auth_;
};

class authcheck final : public mw::plugin::service_plugin {
  public:
    void init(mw::plugin::settings&, mw::plugin::host_view& host) override { auth_ = &host.auth(); }
    std::shared_ptr<mw::server::service> make_service() override { return std::make_shared<authcheck_service>(*auth_); }

  private:
    mw::plugin::auth_backend* auth_ = nullptr;
};

}  // namespace

MAILWRIGHT_PLUGIN("authcheck", "service", "1.0", authcheck)
