# Two interface targets:
#  - mailwright_options (exported as mailwright::options): what every user of libmailwright must compile with,
#    plugins built out of tree included;
#  - mailwright_warnings (this build only): warnings, warnings as errors, sanitizers.
add_library(mailwright_options INTERFACE)
add_library(mailwright::options ALIAS mailwright_options)
set_target_properties(mailwright_options PROPERTIES EXPORT_NAME options)
target_compile_features(mailwright_options INTERFACE cxx_std_20)
add_library(mailwright_warnings INTERFACE)
# Options structs give every field a default; a designated initializer that names only some fields is the
# intended use, which g++ 12 would otherwise warn about (fixed in g++ 13, PR 96868).
# -Wno-mismatched-new-delete: at -O2 g++ 12 inlines a coroutine into its caller and then mistakes Asio's
# awaitable frame operator new/delete pair for a mismatch (a known false positive with coroutine frames).
target_compile_options(mailwright_warnings INTERFACE -Wall -Wextra -Wpedantic -Wno-missing-field-initializers
                                                    $<$<CXX_COMPILER_ID:GNU>:-Wno-mismatched-new-delete>)
if(MAILWRIGHT_WERROR)
    target_compile_options(mailwright_warnings INTERFACE -Werror)
endif()
if(MAILWRIGHT_SANITIZE)
    target_compile_options(mailwright_warnings INTERFACE -fsanitize=${MAILWRIGHT_SANITIZE} -fno-omit-frame-pointer
                                                         -fno-sanitize-recover=all)
    if(MAILWRIGHT_SANITIZE MATCHES "thread")
        # Asio's fenced blocks use atomic_thread_fence, which TSan does not model; g++ warns about each. The
        # handler queues they guard are mutex-protected, and TSan does see those.
        target_compile_options(mailwright_warnings INTERFACE $<$<CXX_COMPILER_ID:GNU>:-Wno-tsan>)
    endif()
    if(MAILWRIGHT_SANITIZE MATCHES "undefined")
        # UBSan's vptr check probes memory through a pipe(); when the process is out of descriptors (which the
        # test suite provokes on purpose) every virtual call on an error_category then looks invalid.
        target_compile_options(mailwright_warnings INTERFACE -fno-sanitize=vptr)
    endif()
    target_link_options(mailwright_warnings INTERFACE -fsanitize=${MAILWRIGHT_SANITIZE})
endif()
# ASan and TSan are part of the plugin ABI string (plugin/abi.hpp): a plugin built against a sanitized SDK,
# out of tree too, must be instrumented alike or the host refuses it. So mailwright::options carries them.
string(REGEX MATCHALL "address|thread" mailwright_abi_sanitizers "${MAILWRIGHT_SANITIZE}")
if(mailwright_abi_sanitizers)
    string(JOIN "," mailwright_abi_sanitizers ${mailwright_abi_sanitizers})
    target_compile_options(mailwright_options INTERFACE -fsanitize=${mailwright_abi_sanitizers})
    target_link_options(mailwright_options INTERFACE -fsanitize=${mailwright_abi_sanitizers})
endif()
if(MAILWRIGHT_FUZZ)
    # libFuzzer: everything in this build (libmailwright, plugins, programs) gets coverage instrumentation;
    # only the targets in tests/fuzz link libFuzzer itself (-fsanitize=fuzzer, which brings its main()).
    if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
        message(FATAL_ERROR "MAILWRIGHT_FUZZ needs clang (libFuzzer): use the 'fuzz' preset")
    endif()
    target_compile_options(mailwright_warnings INTERFACE -fsanitize=fuzzer-no-link)
    if(MAILWRIGHT_SANITIZE MATCHES "undefined")
        # clang 14 fails with "Cannot represent a difference across sections" when UBSan's function check
        # (-fsanitize=function, part of 'undefined') meets the coverage counters in files with Asio coroutines.
        target_compile_options(mailwright_warnings INTERFACE -fno-sanitize=function)
    endif()
    target_link_options(mailwright_warnings INTERFACE -fsanitize=fuzzer-no-link)
endif()
# Asio is compiled once, in framework/src/asio_impl.cpp; every user must agree on these.
# ASIO_DISABLE_STD_ALIGNED_ALLOC: Asio 1.22 decides between aligned_alloc and operator new by whether a
# libstdc++ header was included before its own, so two files could disagree (an ODR violation that frees
# with the wrong function; ASan reports it as alloc-dealloc-mismatch). This makes every file choose alike.
target_compile_definitions(mailwright_options INTERFACE ASIO_SEPARATE_COMPILATION ASIO_NO_DEPRECATED
                                                        ASIO_DISABLE_STD_ALIGNED_ALLOC)
# Asio 1.22 enables co_await under clang only when <experimental/coroutine> exists, which libstdc++ lacks;
# clang 14 with libstdc++ has C++20 coroutines (<coroutine>), so say so (the 'fuzz' preset builds with clang).
target_compile_definitions(mailwright_options INTERFACE $<$<CXX_COMPILER_ID:Clang>:ASIO_HAS_CO_AWAIT=1>)

# mailwright_add_test(NAME SOURCES...): a Catch2 test program whose cases CTest discovers one by one.
# `--warn NoTests` makes a CTest entry that matches no case fail instead of passing empty: Catch2's discovery
# splits a case name at ';' (a CMake list), and such a case used to run nowhere while CTest said "Passed".
function(mailwright_add_test name)
    add_executable(${name} ${ARGN})
    target_link_libraries(${name} PRIVATE mailwright::framework mailwright::catch2_main)
    catch_discover_tests(${name} TEST_PREFIX "${name}:" EXTRA_ARGS --warn NoTests PROPERTIES TIMEOUT 120)
endfunction()
