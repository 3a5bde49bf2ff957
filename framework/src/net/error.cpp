// The error category of mailwright::net::errc.
#include "mailwright/net/error.hpp"

#include <string>

namespace mailwright::net {

namespace {
class net_category final : public std::error_category {
  public:
    const char* name() const noexcept override { return "mailwright.net"; }
    std::string message(int value) const override {
        switch (static_cast<errc>(value)) {
            case errc::timeout:
                return "deadline exceeded";
            case errc::stopping:
                return "server is shutting down";
        }
        return "unknown mailwright.net error";
    }
};
}  // namespace

const std::error_category& category() noexcept {
    static const net_category instance;
    return instance;
}

}  // namespace mailwright::net
