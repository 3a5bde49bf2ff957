// Test plugins built for another ABI: the host must refuse each, naming what differs.
//   wrong-abi: CMake sets the whole MAILWRIGHT_PLUGIN_ABI string to one from another build;
//   wrong-asio: built as if against another Asio (TEST_FAKE_ASIO_VERSION stands in for asio/version.hpp);
//   wrong-cxx11-abi: built with -D_GLIBCXX_USE_CXX11_ABI=0, the old std::string and std::list;
//   wrong-std: built with -std=c++23.
#if defined(TEST_FAKE_ASIO_VERSION)
#include <asio/version.hpp>
#undef ASIO_VERSION
#define ASIO_VERSION TEST_FAKE_ASIO_VERSION
#endif

#include <mailwright/plugin/hook.hpp>

#ifndef TEST_PLUGIN_NAME
#define TEST_PLUGIN_NAME "wrong-abi"
#endif

namespace {
class stale final : public mailwright::plugin::hook {
  public:
    void init(mailwright::plugin::settings&, mailwright::plugin::host_view&) override {}
};
}  // namespace

MAILWRIGHT_PLUGIN(TEST_PLUGIN_NAME, "hook", "0.9", stale)
