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
set(MAILWRIGHT_PLUGIN_OUTPUT_DIR "${CMAKE_BINARY_DIR}/plugins" CACHE PATH "Where in-tree plugins are built")

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
endfunction()

function(mailwright_add_linked_plugin target)
    add_library(${target} OBJECT ${ARGN})
    target_link_libraries(${target} PUBLIC mailwright::framework)
    target_compile_definitions(${target} PRIVATE MAILWRIGHT_PLUGIN_LINKED)
endfunction()
