#pragma once
// Which datagrams must never be answered, so that no two datagram servers — or one and itself —
// can be set answering each other for ever by one spoofed datagram (the "loop DoS" of UDP
// services): those from one of the server's own addresses, and those that are themselves a
// reply. Pure. Any thread.

#include <netinet/in.h>

#include <optional>
#include <string_view>

#include "doorman/net/socket_address.hpp"

namespace doorman::server {

// Where a datagram to a wildcard socket was sent, as IP_PKTINFO / IPV6_PKTINFO report it.
struct Destination {
  int family = AF_UNSPEC;
  in_pktinfo v4{};
  in6_pktinfo v6{};
};

// Exactly one of the two replies: answering it could answer another server's answer.
bool is_a_reply(std::string_view body) noexcept;

// `sender` is the socket `local` itself (bound to `local`), or, for a wildcard `local`, the same
// port on the address the datagram was sent to or on a loopback address.
bool is_own_address(const SocketAddress& sender, const SocketAddress& local,
                    const std::optional<Destination>& destination) noexcept;

// 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104, or a Unix socket: a sender on this host.
bool is_local(const SocketAddress& sender) noexcept;

// Multicast or the limited broadcast: a reply must never leave from such an address.
bool is_group_address(const Destination& destination) noexcept;

}  // namespace doorman::server
