// Test auth plugin that fails on schedule (fault_schedule.hpp): every user exists, with the password "pw" (also
// as a plaintext-equivalent secret, for APOP and CRAM-MD5), except that the K-th call concerning a user named
// "NAME~K~MODE~auth" answers tempfail (MODE error) or throws (MODE throw, throwint).
#include <mailwright/plugin/auth.hpp>

#include "fault_schedule.hpp"

namespace mw = mailwright::plugin;

namespace {

class faulty_auth final : public mw::auth_backend, mw::secret_provider {
  public:
    void init(mw::settings&, mw::host_view&) override {}

    asio::awaitable<mw::auth_result> verify_password(std::string_view user, std::string_view password) override {
        if (const auto f = check(user, "verify_password"); f != faulty::fault::none) {
            co_return mw::auth_result{mw::auth_status::tempfail, {}, "injected"};
        }
        co_return password == "pw" ? mw::auth_result{mw::auth_status::ok, std::string(user), {}}
                                   : mw::auth_result{mw::auth_status::rejected, {}, "wrong password"};
    }

    asio::awaitable<mw::auth_result> lookup(std::string_view user) override {
        if (const auto f = check(user, "lookup"); f != faulty::fault::none) {
            co_return mw::auth_result{mw::auth_status::tempfail, {}, "injected"};
        }
        co_return mw::auth_result{mw::auth_status::ok, std::string(user), {}};
    }

    mw::secret_provider* secrets() noexcept override { return this; }

    asio::awaitable<mw::secret_result> stored_secret(std::string_view user, mw::secret_kind kind) override {
        if (const auto f = check(user, "stored_secret"); f != faulty::fault::none) {
            co_return mw::secret_result{mw::auth_status::tempfail, {}, {}};
        }
        if (kind != mw::secret_kind::plaintext_equivalent) {
            co_return mw::secret_result{mw::auth_status::rejected, {}, {}};
        }
        co_return mw::secret_result{mw::auth_status::ok, std::string(user), "pw"};
    }

  private:
    // Throws for a "throw" fault; returns an "error" fault for the caller to report.
    faulty::fault check(std::string_view user, const char* what) {
        const auto f = schedule_.next(user, what);
        if (faulty::throws(f)) {
            schedule_.raise(user, what, f);
        }
        return f;
    }

    faulty::schedule schedule_{"faulty-auth", "auth"};
};

}  // namespace

MAILWRIGHT_PLUGIN("faulty-auth", "auth", "1.0", faulty_auth)
