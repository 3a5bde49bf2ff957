// The plugin ABI string. A plugin embeds the string of the SDK it was built with; the host refuses a plugin
// whose string differs from its own (Dovecot's module-dir.c way), because plugins exchange C++ objects
// (std::string, shared_ptr, virtual calls, asio::awaitable) with the host: the compiler, the standard
// library and Mailwright's interface version must all match.
#pragma once

#define MAILWRIGHT_PLUGIN_ABI_STRINGIFY2(x) #x
#define MAILWRIGHT_PLUGIN_ABI_STRINGIFY(x) MAILWRIGHT_PLUGIN_ABI_STRINGIFY2(x)

// Bump when any interface under mailwright/plugin/ (or what it includes) changes.
#define MAILWRIGHT_PLUGIN_INTERFACE_VERSION 2

#ifndef MAILWRIGHT_PLUGIN_ABI
#define MAILWRIGHT_PLUGIN_ABI                                                               \
    "mailwright-plugin/" MAILWRIGHT_PLUGIN_ABI_STRINGIFY(                                   \
        MAILWRIGHT_PLUGIN_INTERFACE_VERSION) " gcc/" __VERSION__                            \
                                             " libstdc++/" MAILWRIGHT_PLUGIN_ABI_STRINGIFY( \
                                                 _GLIBCXX_RELEASE) " c++/" MAILWRIGHT_PLUGIN_ABI_STRINGIFY(__cplusplus)
#endif
