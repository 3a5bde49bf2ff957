// Listening sockets (private to src/server): binding one per address, and the descriptors each worker
// accepts from.
#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <memory>
#include <string>
#include <utility>

#include "connection_limiter.hpp"
#include "mailwright/server/session.hpp"

namespace mailwright::server {

address_key key_of(const asio::ip::address& address);
endpoint_info info_of(const asio::ip::tcp::endpoint& endpoint);

// What identifies a listening socket across reloads: its address and port.
using endpoint_key = std::pair<address_key, std::uint16_t>;
inline endpoint_key key_of(const asio::ip::tcp::endpoint& endpoint) {
    return {key_of(endpoint.address()), endpoint.port()};
}

// One listening socket, bound without SO_REUSEPORT (see listening.cpp). Throws std::system_error naming
// `listener` and the address.
std::unique_ptr<asio::ip::tcp::acceptor> listen_on(asio::io_context& context, const asio::ip::tcp::endpoint& endpoint,
                                                   const std::string& listener);

// A descriptor of its own (dup(2)) for the same listening socket; the caller assigns it to a worker's
// acceptor on that worker's thread (assign_shared). Throws std::system_error.
int duplicate(const asio::ip::tcp::acceptor& listening);
// An acceptor of `context` over `fd` (which it then owns). Throws std::system_error; closes fd on failure.
std::shared_ptr<asio::ip::tcp::acceptor> assign_shared(asio::io_context& context, const asio::ip::tcp::endpoint& local,
                                                       int fd);

}  // namespace mailwright::server
