#include "doorman/server/datagram_guard.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

using doorman::SocketAddress;
using doorman::server::Destination;
using doorman::server::is_a_reply;
using doorman::server::is_group_address;
using doorman::server::is_local;
using doorman::server::is_own_address;

namespace {

SocketAddress ipv4(const char* host, uint16_t port) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(port);
  inet_pton(AF_INET, host, &in.sin_addr);
  return SocketAddress(reinterpret_cast<const sockaddr*>(&in), sizeof(in));
}

SocketAddress ipv6(const char* host, uint16_t port) {
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  in6.sin6_port = htons(port);
  inet_pton(AF_INET6, host, &in6.sin6_addr);
  return SocketAddress(reinterpret_cast<const sockaddr*>(&in6), sizeof(in6));
}

Destination sent_to(const char* address, const char* local) {
  Destination destination;
  destination.family = AF_INET;
  inet_pton(AF_INET, address, &destination.v4.ipi_addr);
  inet_pton(AF_INET, local, &destination.v4.ipi_spec_dst);
  return destination;
}

TEST(DatagramGuard, TheRepliesAreNotRequests) {
  EXPECT_TRUE(is_a_reply("welcome to server!"));
  EXPECT_TRUE(is_a_reply("please go out!"));
  EXPECT_FALSE(is_a_reply("please go out!\n"));
  EXPECT_FALSE(is_a_reply("please go out"));
  EXPECT_FALSE(is_a_reply("1"));
  EXPECT_FALSE(is_a_reply(""));
}

TEST(DatagramGuard, ASocketBoundToOneAddressKnowsItself) {
  const SocketAddress local = ipv4("127.0.0.1", 8001);
  EXPECT_TRUE(is_own_address(ipv4("127.0.0.1", 8001), local, std::nullopt));
  EXPECT_FALSE(is_own_address(ipv4("127.0.0.1", 8002), local, std::nullopt));
  EXPECT_FALSE(is_own_address(ipv4("127.0.0.2", 8001), local, std::nullopt));
  EXPECT_FALSE(is_own_address(ipv4("192.0.2.1", 8001), local, std::nullopt));
  EXPECT_TRUE(is_own_address(ipv6("::1", 8001), ipv6("::1", 8001), std::nullopt));
  EXPECT_FALSE(is_own_address(ipv6("::2", 8001), ipv6("::1", 8001), std::nullopt));
}

TEST(DatagramGuard, AWildcardSocketKnowsItselfByTheDestination) {
  const SocketAddress any = ipv4("0.0.0.0", 8001);
  const auto destination = std::optional(sent_to("192.0.2.7", "192.0.2.7"));
  EXPECT_TRUE(is_own_address(ipv4("192.0.2.7", 8001), any, destination));
  EXPECT_TRUE(is_own_address(ipv4("127.0.0.1", 8001), any, destination));  // loopback, our port
  EXPECT_TRUE(is_own_address(ipv4("127.9.9.9", 8001), any, std::nullopt));
  EXPECT_FALSE(is_own_address(ipv4("192.0.2.8", 8001), any, destination));
  EXPECT_FALSE(is_own_address(ipv4("192.0.2.7", 8002), any, destination));
  // Sent to a broadcast address: the kernel's local address for it counts too.
  const auto broadcast = std::optional(sent_to("192.0.2.255", "192.0.2.7"));
  EXPECT_TRUE(is_own_address(ipv4("192.0.2.7", 8001), any, broadcast));
  EXPECT_TRUE(is_own_address(ipv6("::1", 8001), ipv6("::", 8001), std::nullopt));
}

TEST(DatagramGuard, AUnixSocketKnowsItsOwnName) {
  const SocketAddress local = SocketAddress::unix_path("/run/d.sock");
  EXPECT_TRUE(is_own_address(SocketAddress::unix_path("/run/d.sock"), local, std::nullopt));
  EXPECT_FALSE(is_own_address(SocketAddress::unix_path("/run/e.sock"), local, std::nullopt));
  EXPECT_FALSE(is_own_address(SocketAddress::unix_abstract("x"), local, std::nullopt));
  EXPECT_TRUE(is_own_address(SocketAddress::unix_abstract("x"), SocketAddress::unix_abstract("x"),
                             std::nullopt));
}

TEST(DatagramGuard, LocalSenders) {
  EXPECT_TRUE(is_local(ipv4("127.0.0.1", 1)));
  EXPECT_TRUE(is_local(ipv4("127.200.0.1", 1)));
  EXPECT_TRUE(is_local(ipv6("::1", 1)));
  EXPECT_TRUE(is_local(ipv6("::ffff:127.0.0.1", 1)));
  EXPECT_TRUE(is_local(SocketAddress::unix_abstract("x")));
  EXPECT_FALSE(is_local(ipv4("192.0.2.1", 1)));
  EXPECT_FALSE(is_local(ipv4("128.0.0.1", 1)));
  EXPECT_FALSE(is_local(ipv6("::ffff:192.0.2.1", 1)));
  EXPECT_FALSE(is_local(ipv6("2001:db8::1", 1)));
}

TEST(DatagramGuard, NoReplyLeavesFromAGroupAddress) {
  EXPECT_FALSE(is_group_address(sent_to("127.0.0.1", "127.0.0.1")));
  EXPECT_TRUE(is_group_address(sent_to("255.255.255.255", "255.255.255.255")));
  EXPECT_TRUE(is_group_address(sent_to("224.0.0.1", "224.0.0.1")));
  Destination v6;
  v6.family = AF_INET6;
  inet_pton(AF_INET6, "ff02::1", &v6.v6.ipi6_addr);
  EXPECT_TRUE(is_group_address(v6));
  inet_pton(AF_INET6, "::1", &v6.v6.ipi6_addr);
  EXPECT_FALSE(is_group_address(v6));
}

}  // namespace
