// An appliance in one binary: the example-auth plugin is linked in (see CMakeLists.txt) and configured in
// code; a line protocol checks logins against it. Try: ./appliance 7071, then "LOGIN admin s3cret".
#include <cstdlib>
#include <mailwright/plugin/fixed_settings.hpp>
#include <mailwright/plugin/host.hpp>
#include <mailwright/server/server.hpp>
#include <mailwright/server/session.hpp>

namespace mw = mailwright;

class login_service final : public mw::server::service {
  public:
    explicit login_service(mw::plugin::auth_backend& auth) : auth_(auth) {}
    std::string_view name() const override { return "login"; }
    std::string refusal_line(mw::server::refusal) const override { return "BUSY\r\n"; }

    asio::awaitable<void> serve(mw::server::session& s) override {
        s.reply("HELLO\r\n");
        for (;;) {
            auto r = co_await s.read_line();
            if (r.status != mw::server::read_status::line) {
                co_return;
            }
            std::string line(r.line);
            const auto space = line.find(' ', 6);
            if (!line.starts_with("LOGIN ") || space == std::string::npos) {
                s.reply("ERR usage: LOGIN user password\r\n");
                continue;
            }
            auto result = co_await auth_.verify_password(line.substr(6, space - 6), line.substr(space + 1));
            s.reply(result.status == mw::plugin::auth_status::ok ? "WELCOME " + result.user + "\r\n" : "DENIED\r\n");
        }
    }

  private:
    mw::plugin::auth_backend& auth_;
};

int main(int argc, char** argv) {
    mw::plugin::fixed_settings auth_settings{{"users", std::vector<std::string>{"admin:s3cret"}}};
    mw::plugin::host plugins({});  // no search path: linked-in plugins only
    plugins.load({{"example-auth", &auth_settings}});

    mw::server::server server({.workers = 1});
    server.add_listener({.name = "login",
                         .addresses = {"127.0.0.1"},
                         .port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 7071),
                         .handler = std::make_shared<login_service>(plugins.auth())});
    server.run();
}
