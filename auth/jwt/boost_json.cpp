// Boost.JSON's implementation, compiled into this plugin (header-only use; hidden, as all of a plugin is).
#include <boost/json/src.hpp>
