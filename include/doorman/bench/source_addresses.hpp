#pragma once
// Client source addresses (P7): which local address each connection is bound to before its
// connect. One source address and one target give at most the ephemeral port range's number of
// connections (about 28,000 by default), so holding more needs more source addresses. Main
// thread.

#include <cstddef>
#include <string_view>
#include <vector>

#include "doorman/base/result.hpp"
#include "doorman/net/socket_address.hpp"

namespace doorman::bench {

// --source's value: IPv4 or IPv6 addresses, comma-separated, no port (the kernel picks it at
// connect time). The error names the address that is wrong.
Result<std::vector<SocketAddress>> parse_sources(std::string_view text);

// How many ports the kernel may pick for a connect (net.ipv4.ip_local_port_range); the
// default range's size when the file cannot be read.
size_t ephemeral_port_count();

// For an IPv4 loopback target and more connections than one source address can hold with
// `ports` ephemeral ports: 127.0.0.2, 127.0.0.3, ... enough of them with a margin. Otherwise
// nothing: the kernel's choice of source is enough.
std::vector<SocketAddress> spread_sources(const SocketAddress& target, size_t connections,
                                          size_t ports);

// Binds `fd` to `source` with IP_BIND_ADDRESS_NO_PORT, so the port is still chosen at connect
// time against the target (a port is then shared by connections to different targets).
Result<void> bind_source(int fd, const SocketAddress& source);

}  // namespace doorman::bench
