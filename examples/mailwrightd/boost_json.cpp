// Boost.JSON's implementation, compiled once here instead of linking a Boost library (header-only use).
#include <boost/json/src.hpp>
