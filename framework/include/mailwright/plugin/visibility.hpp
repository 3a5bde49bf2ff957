// Included first in every plugin translation unit (mailwright_add_plugin() forces it with -include).
//
// Why: plugins are built with hidden visibility, and Asio keeps per-thread state in static members of class
// templates defined in its headers (call_stack<thread_context>::top_ says which io_context runs on this
// thread; the recycling allocator caches coroutine frames there). A hidden plugin would get copies of its
// own that the framework never sets: inside a plugin, running_in_this_thread() would say false on the very
// thread that runs the io_context, and dispatch() would post instead of running inline. Including Asio here
// with default visibility makes those template members ordinary vague-linkage symbols again, which the
// dynamic linker unifies with libmailwright's, so a plugin sees exactly the state the framework sees.
// (The test suite builds one plugin without this header to show the difference.)
#pragma once

#pragma GCC visibility push(default)
#include <asio.hpp>
#pragma GCC visibility pop
