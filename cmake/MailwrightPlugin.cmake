# mailwright_add_plugin(NAME [NO_INSTALL] SOURCES...): builds the plugin NAME as mailwright-NAME.so, a MODULE library with
# hidden visibility that the host loads at run time.
#
# Hidden visibility keeps a plugin's own symbols to itself. It does not split Asio's per-thread state:
# Asio is compiled once, into libmailwright (ASIO_SEPARATE_COMPILATION comes with mailwright::framework), and
# Asio's headers declare everything with default visibility (asio/detail/push_options.hpp), so the few
# template statics a plugin instantiates bind to libmailwright's. docs/plugins.md has the rule.
#
# mailwright_add_linked_plugin(TARGET SOURCES...): the same sources as an OBJECT library compiled with
# MAILWRIGHT_PLUGIN_LINKED, to link into a program (no shared library, no dlopen). Link TARGET into the
# program with target_link_libraries(program PRIVATE TARGET).
# A plugin is built with the C++ standard of the SDK (MAILWRIGHT_CXX_STANDARD: set by MailwrightConfig.cmake for
# an installed SDK, CMAKE_CXX_STANDARD in this build). __cplusplus is part of the plugin ABI string, and the
# standard changes the standard library's inline code, so a plugin of another standard is refused at load;
# this makes it the SDK's whatever the plugin's project asks for its other targets.
#
# The plugin's own project may set CMAKE_CXX_STANDARD to something else for its other targets: the plugin
# target's CXX_STANDARD property wins. What the property cannot win against, a -std= flag in CMAKE_CXX_FLAGS
# or the target's compile options, stops the configure with a message saying why.
set(MAILWRIGHT_PLUGIN_OUTPUT_DIR "${CMAKE_BINARY_DIR}/plugins" CACHE PATH "Where in-tree plugins are built")
if(NOT DEFINED MAILWRIGHT_CXX_STANDARD)
    set(MAILWRIGHT_CXX_STANDARD "${CMAKE_CXX_STANDARD}")
endif()

function(mailwright_add_plugin name)
    cmake_parse_arguments(PARSE_ARGV 1 arg "NO_INSTALL" "" "")
    set(target "mailwright_plugin_${name}")
    add_library(${target} MODULE ${arg_UNPARSED_ARGUMENTS})
    target_link_libraries(${target} PRIVATE mailwright::framework)
    if(NOT arg_NO_INSTALL)
        include(GNUInstallDirs)
        install(TARGETS ${target} LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}/mailwright/plugins")
    endif()
    set_target_properties(${target} PROPERTIES
        PREFIX ""
        OUTPUT_NAME "mailwright-${name}"
        CXX_VISIBILITY_PRESET hidden
        VISIBILITY_INLINES_HIDDEN ON
        LIBRARY_OUTPUT_DIRECTORY "${MAILWRIGHT_PLUGIN_OUTPUT_DIR}")
    mailwright_pin_cxx_standard(${target})
endfunction()

# mailwright_pin_cxx_standard(TARGET): builds TARGET with the SDK's C++ standard, or stops the configure.
function(mailwright_pin_cxx_standard target)
    if(NOT MAILWRIGHT_CXX_STANDARD)
        message(FATAL_ERROR "mailwright_add_plugin(${target}): the Mailwright SDK does not say which C++ standard "
                            "it was built with (MAILWRIGHT_CXX_STANDARD is empty); set it to that standard, e.g. 20")
    endif()
    get_target_property(options ${target} COMPILE_OPTIONS)
    foreach(flags IN ITEMS "${CMAKE_CXX_FLAGS}" "${options}")
        if(flags MATCHES "-std=([a-z+0-9]+)")
            message(FATAL_ERROR "mailwright_add_plugin(${target}): ${CMAKE_MATCH_0} in the compiler flags would "
                                "override the C++ standard the Mailwright SDK was built with "
                                "(C++${MAILWRIGHT_CXX_STANDARD}); the host refuses a plugin of another standard. "
                                "Remove the flag; mailwright_add_plugin() sets the SDK's standard itself.")
        endif()
    endforeach()
    set_target_properties(${target} PROPERTIES
        CXX_STANDARD ${MAILWRIGHT_CXX_STANDARD} CXX_STANDARD_REQUIRED ON CXX_EXTENSIONS OFF)
endfunction()

function(mailwright_add_linked_plugin target)
    add_library(${target} OBJECT ${ARGN})
    target_link_libraries(${target} PUBLIC mailwright::framework)
    target_compile_definitions(${target} PRIVATE MAILWRIGHT_PLUGIN_LINKED)
endfunction()
