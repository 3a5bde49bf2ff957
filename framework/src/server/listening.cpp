// Listening sockets: see listening.hpp.
#include "listening.hpp"

#include <unistd.h>
#include <asio/ip/v6_only.hpp>
#include <cerrno>
#include <system_error>

namespace mailwright::server {

using asio::ip::tcp;

address_key key_of(const asio::ip::address& address) {
    const auto v6 = address.is_v4() ? asio::ip::make_address_v6(asio::ip::v4_mapped, address.to_v4()) : address.to_v6();
    return v6.to_bytes();
}

endpoint_info info_of(const tcp::endpoint& endpoint) {
    auto address = endpoint.address();
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
        address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
    }
    return {address.to_string(), endpoint.port()};
}

// One listening socket per address, bound without SO_REUSEPORT: a second process that tries the same
// address gets EADDRINUSE and refuses to start, as Dovecot and Postfix do. (With SO_REUSEPORT the kernel would
// let any process of the same user join the group and split the connections between two daemons, each with
// its own users and mailboxes; a probe bind before the group is bound leaves a window for exactly that.)
std::unique_ptr<tcp::acceptor> listen_on(asio::io_context& context, const tcp::endpoint& endpoint,
                                         const std::string& listener) {
    auto acceptor = std::make_unique<tcp::acceptor>(context);
    std::error_code ec;
    acceptor->open(endpoint.protocol(), ec);
    if (!ec && endpoint.address().is_v6()) {
        acceptor->set_option(asio::ip::v6_only(true), ec);
    }
    if (!ec) {
        acceptor->set_option(asio::socket_base::reuse_address(true), ec);  // restarts despite TIME_WAIT
    }
    if (!ec) {
        acceptor->bind(endpoint, ec);
    }
    if (!ec) {
        acceptor->listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) {
        throw std::system_error(ec, "listener '" + listener + "' cannot listen on " + info_of(endpoint).to_string());
    }
    return acceptor;
}

int duplicate(const tcp::acceptor& listening) {
    const int fd = ::dup(const_cast<tcp::acceptor&>(listening).native_handle());
    if (fd < 0) {
        throw std::system_error(errno, std::generic_category(), "dup of a listening socket");
    }
    return fd;
}

std::shared_ptr<tcp::acceptor> assign_shared(asio::io_context& context, const tcp::endpoint& local, int fd) {
    auto acceptor = std::make_shared<tcp::acceptor>(context);
    std::error_code ec;
    acceptor->assign(local.protocol(), fd, ec);
    if (ec) {
        ::close(fd);
        throw std::system_error(ec, "sharing a listening socket");
    }
    return acceptor;
}

}  // namespace mailwright::server
