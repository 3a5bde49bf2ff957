// Asio is compiled once for the whole project, here (ASIO_SEPARATE_COMPILATION): every other translation
// unit sees only declarations, which keeps a build from scratch short on small machines.
#include <asio/impl/src.hpp>
