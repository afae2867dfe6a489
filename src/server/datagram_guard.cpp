#include "doorman/server/datagram_guard.hpp"

#include <sys/un.h>

#include <cstddef>
#include <cstring>

#include "doorman/proto/judge.hpp"

namespace doorman::server {
namespace {

const in_addr& ipv4_of(const SocketAddress& address) noexcept {
  return reinterpret_cast<const sockaddr_in&>(*address.get()).sin_addr;
}

const in6_addr& ipv6_of(const SocketAddress& address) noexcept {
  return reinterpret_cast<const sockaddr_in6&>(*address.get()).sin6_addr;
}

bool same(const in_addr& a, const in_addr& b) noexcept {
  return a.s_addr == b.s_addr;
}

bool same(const in6_addr& a, const in6_addr& b) noexcept {
  return std::memcmp(&a, &b, sizeof(a)) == 0;
}

// A Unix socket's name without the NUL bytes a path may be padded with.
std::string_view unix_name(const SocketAddress& address) noexcept {
  constexpr size_t kPathOffset = offsetof(sockaddr_un, sun_path);
  if (address.size() <= kPathOffset) return {};
  const char* path = reinterpret_cast<const sockaddr_un&>(*address.get()).sun_path;
  std::string_view name(path, address.size() - kPathOffset);
  if (!name.empty() && name.front() != '\0') name = name.substr(0, name.find('\0'));
  return name;
}

bool is_loopback_ipv4(const in_addr& address) noexcept {
  return (ntohl(address.s_addr) >> 24) == 127;
}

}  // namespace

bool is_a_reply(std::string_view body) noexcept {
  return body == proto::kWelcome || body == proto::kGoAway;
}

bool is_own_address(const SocketAddress& sender, const SocketAddress& local,
                    const std::optional<Destination>& destination) noexcept {
  if (sender.family() != local.family()) return false;
  if (sender.is_unix()) return !unix_name(local).empty() && unix_name(sender) == unix_name(local);
  if (sender.port() != local.port()) return false;
  if (!local.is_any()) {
    return sender.family() == AF_INET ? same(ipv4_of(sender), ipv4_of(local))
                                      : same(ipv6_of(sender), ipv6_of(local));
  }
  if (is_local(sender)) return true;
  if (!destination || destination->family != sender.family()) return false;
  if (sender.family() == AF_INET) {
    return same(ipv4_of(sender), destination->v4.ipi_addr) ||
           same(ipv4_of(sender), destination->v4.ipi_spec_dst);
  }
  return same(ipv6_of(sender), destination->v6.ipi6_addr);
}

bool is_local(const SocketAddress& sender) noexcept {
  if (sender.family() == AF_UNIX) return true;
  if (sender.family() == AF_INET) return is_loopback_ipv4(ipv4_of(sender));
  if (sender.family() == AF_INET6) {
    const in6_addr& address = ipv6_of(sender);
    if (IN6_IS_ADDR_LOOPBACK(&address)) return true;
    if (IN6_IS_ADDR_V4MAPPED(&address)) {
      in_addr mapped{};
      std::memcpy(&mapped, address.s6_addr + 12, sizeof(mapped));
      return is_loopback_ipv4(mapped);
    }
  }
  return false;
}

bool is_group_address(const Destination& destination) noexcept {
  if (destination.family == AF_INET) {
    const uint32_t address = ntohl(destination.v4.ipi_spec_dst.s_addr);
    return IN_MULTICAST(address) || address == INADDR_BROADCAST;
  }
  return destination.family == AF_INET6 && IN6_IS_ADDR_MULTICAST(&destination.v6.ipi6_addr);
}

}  // namespace doorman::server
