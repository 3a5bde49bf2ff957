// The plugin ABI string. A plugin embeds the string of the SDK it was built with; the host refuses a plugin
// whose string differs from its own (Dovecot's module-dir.c way), because plugins exchange C++ objects
// (std::string, shared_ptr, virtual calls, asio::awaitable) with the host: everything that decides how those
// objects are laid out and called must match. The string is a series of "part/value" words, in this order:
//
//   mailwright-plugin/6   the interface version below
//   gcc/12.2.0            the compiler and its version (clang/14.0.6 under clang)
//   libstdc++/12          the standard library release
//   cxx11-abi/1           _GLIBCXX_USE_CXX11_ABI: the new (1) or the old (0) std::string and std::list
//   c++/202002L           the C++ standard (__cplusplus): another standard changes the standard library's
//                         types and inline code (g++ 12 says 202100L for -std=c++23); mailwright_add_plugin()
//                         builds a plugin with the SDK's
//   asio/102201           ASIO_VERSION: awaitable, executors and the coroutine frame allocator are in headers
//   boost/108100          BOOST_VERSION: Boost.DLL's alias and the headers the SDK includes
//   sanitize/none         ASan ("address") or TSan ("thread") instrumentation, which changes allocation and
//                         needs its runtime in the host
//
// The host reports the first part that differs (framework/src/plugin/abi_check.cpp). docs/plugins.md has the
// rule for bumping the interface version.
#pragma once

#include <asio/version.hpp>
#include <boost/version.hpp>
#include <version>  // the standard library's configuration macros (_GLIBCXX_RELEASE, _GLIBCXX_USE_CXX11_ABI)

#define MAILWRIGHT_PLUGIN_ABI_STRINGIFY2(x) #x
#define MAILWRIGHT_PLUGIN_ABI_STRINGIFY(x) MAILWRIGHT_PLUGIN_ABI_STRINGIFY2(x)

// Bump on any change to a type or a virtual function a plugin sees, in any header under mailwright/ that an
// SDK header includes or a plugin may include (docs/plugins.md, "When to bump the interface version").
// 3: session's accessors moved out of line; the ABI string names Asio, Boost, the libstdc++ ABI, sanitizers.
// 4: mailstore::begin() and plugin::delivery replace deliver() and message_source; hooks answer plugin::reply;
//    auth_result and secret_result carry a tempfail_reply; event_context names the session.
// 5: hooks resolve recipients (resolve()) and make message filters (filter()); message_filter sees parsed
//    fields, may remove them, and answers a filter_verdict; delivery::commit() takes the mailboxes wanted;
//    envelope_recipient names its users; event_context gains helo, service, server_name and tls.
// 6: host_view::checking() (a plugin must create nothing under --check-config); settings::invalid() adds
//    nothing for a key a getter has already reported as wrong.
// 7: message_filter::body() is a coroutine; filters may edit the header block and replace the body at the end
//    (edits_at_end(), filter_verdict::edits and new_body); mailstore::delivers_remote() (a store that forwards);
//    settings::tables() (tables inside a plugin's table); envelope::one_reply; net::stream::park().
// 8: auth_backend::tokens() and plugin::token_verifier (OAuth 2.0 bearer tokens for OAUTHBEARER and XOAUTH2);
//    sasl::mechanism_info::bearer_token; sasl::step::refused.
// 9: net::stream::wait_readable() (a new virtual); io::line_buffer's storage comes from io::pooled_buffer
//    (io/buffer_pool.hpp); testing::memory_stream can wait for input (ending::wait).
#define MAILWRIGHT_PLUGIN_INTERFACE_VERSION 9

#if defined(__clang__)
#define MAILWRIGHT_PLUGIN_ABI_COMPILER                                                             \
    "clang/" MAILWRIGHT_PLUGIN_ABI_STRINGIFY(__clang_major__) "." MAILWRIGHT_PLUGIN_ABI_STRINGIFY( \
        __clang_minor__) "." MAILWRIGHT_PLUGIN_ABI_STRINGIFY(__clang_patchlevel__)
#elif defined(__GNUC__)
#define MAILWRIGHT_PLUGIN_ABI_COMPILER                                                    \
    "gcc/" MAILWRIGHT_PLUGIN_ABI_STRINGIFY(__GNUC__) "." MAILWRIGHT_PLUGIN_ABI_STRINGIFY( \
        __GNUC_MINOR__) "." MAILWRIGHT_PLUGIN_ABI_STRINGIFY(__GNUC_PATCHLEVEL__)
#else
#define MAILWRIGHT_PLUGIN_ABI_COMPILER "compiler/unknown"
#endif

#if defined(__GLIBCXX__)
#define MAILWRIGHT_PLUGIN_ABI_STDLIB                                                                              \
    "libstdc++/" MAILWRIGHT_PLUGIN_ABI_STRINGIFY(_GLIBCXX_RELEASE) " cxx11-abi/" MAILWRIGHT_PLUGIN_ABI_STRINGIFY( \
        _GLIBCXX_USE_CXX11_ABI)
#elif defined(_LIBCPP_VERSION)
#define MAILWRIGHT_PLUGIN_ABI_STDLIB "libc++/" MAILWRIGHT_PLUGIN_ABI_STRINGIFY(_LIBCPP_VERSION)
#else
#define MAILWRIGHT_PLUGIN_ABI_STDLIB "stdlib/unknown"
#endif

// g++ says __SANITIZE_ADDRESS__ / __SANITIZE_THREAD__; clang says __has_feature(...), which g++ 12 lacks (and
// cannot even parse in an #if that does not first ask whether it exists).
#if defined(__has_feature)
#define MAILWRIGHT_PLUGIN_ABI_HAS_FEATURE(x) __has_feature(x)
#else
#define MAILWRIGHT_PLUGIN_ABI_HAS_FEATURE(x) 0
#endif
#if defined(__SANITIZE_ADDRESS__) || MAILWRIGHT_PLUGIN_ABI_HAS_FEATURE(address_sanitizer)
#define MAILWRIGHT_PLUGIN_ABI_SANITIZE "address"
#elif defined(__SANITIZE_THREAD__) || MAILWRIGHT_PLUGIN_ABI_HAS_FEATURE(thread_sanitizer)
#define MAILWRIGHT_PLUGIN_ABI_SANITIZE "thread"
#else
#define MAILWRIGHT_PLUGIN_ABI_SANITIZE "none"
#endif

#ifndef MAILWRIGHT_PLUGIN_ABI
// clang-format off
#define MAILWRIGHT_PLUGIN_ABI                                                                  \
    "mailwright-plugin/" MAILWRIGHT_PLUGIN_ABI_STRINGIFY(MAILWRIGHT_PLUGIN_INTERFACE_VERSION) \
    " " MAILWRIGHT_PLUGIN_ABI_COMPILER                                                         \
    " " MAILWRIGHT_PLUGIN_ABI_STDLIB                                                           \
    " c++/" MAILWRIGHT_PLUGIN_ABI_STRINGIFY(__cplusplus)                                       \
    " asio/" MAILWRIGHT_PLUGIN_ABI_STRINGIFY(ASIO_VERSION)                                     \
    " boost/" MAILWRIGHT_PLUGIN_ABI_STRINGIFY(BOOST_VERSION)                                   \
    " sanitize/" MAILWRIGHT_PLUGIN_ABI_SANITIZE
// clang-format on
#endif
