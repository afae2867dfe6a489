#include "doorman/net/socket_address.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <cerrno>

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "doorman/base/printable.hpp"

namespace doorman {
namespace {

constexpr socklen_t kUnixPathOffset = offsetof(sockaddr_un, sun_path);

const sockaddr_un& as_unix(const sockaddr_storage& storage) {
  return reinterpret_cast<const sockaddr_un&>(storage);
}

}  // namespace

SocketAddress::SocketAddress(const sockaddr* address, socklen_t size) noexcept
    : size_(std::min<socklen_t>(size, sizeof(storage_))) {
  std::memcpy(&storage_, address, size_);
}

SocketAddress SocketAddress::unix_path(std::string_view path) {
  SocketAddress address;
  auto& un = reinterpret_cast<sockaddr_un&>(address.storage_);
  un.sun_family = AF_UNIX;
  const size_t length = std::min(path.size(), sizeof(un.sun_path) - 1);
  std::memcpy(un.sun_path, path.data(), length);
  address.size_ = static_cast<socklen_t>(kUnixPathOffset + length + 1);
  return address;
}

SocketAddress SocketAddress::unix_abstract(std::string_view name) {
  SocketAddress address;
  auto& un = reinterpret_cast<sockaddr_un&>(address.storage_);
  un.sun_family = AF_UNIX;
  // The name is exactly `name`: the length passed to the kernel says where it ends, and a
  // trailing NUL would become part of it.
  const size_t length = std::min(name.size(), sizeof(un.sun_path) - 1);
  std::memcpy(un.sun_path + 1, name.data(), length);
  address.size_ = static_cast<socklen_t>(kUnixPathOffset + 1 + length);
  return address;
}

bool SocketAddress::is_abstract() const noexcept {
  return is_unix() && size_ > kUnixPathOffset && as_unix(storage_).sun_path[0] == '\0';
}

bool SocketAddress::is_any() const noexcept {
  if (family() == AF_INET) {
    return reinterpret_cast<const sockaddr_in&>(storage_).sin_addr.s_addr == htonl(INADDR_ANY);
  }
  if (family() == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(storage_);
    return IN6_IS_ADDR_UNSPECIFIED(&in6.sin6_addr);
  }
  return false;
}

uint16_t SocketAddress::port() const noexcept {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(storage_).sin_port);
  if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(storage_).sin6_port);
  return 0;
}

void SocketAddress::set_port(uint16_t port) noexcept {
  if (family() == AF_INET) reinterpret_cast<sockaddr_in&>(storage_).sin_port = htons(port);
  if (family() == AF_INET6) reinterpret_cast<sockaddr_in6&>(storage_).sin6_port = htons(port);
}

std::string SocketAddress::to_string() const {
  char text[INET6_ADDRSTRLEN + IF_NAMESIZE + 2] = {};
  switch (family()) {
    case AF_INET: {
      const auto& in = reinterpret_cast<const sockaddr_in&>(storage_);
      ::inet_ntop(AF_INET, &in.sin_addr, text, sizeof(text));
      return std::string(text) + ":" + std::to_string(port());
    }
    case AF_INET6: {
      const auto& in6 = reinterpret_cast<const sockaddr_in6&>(storage_);
      ::inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof(text));
      std::string host = text;
      char interface_name[IF_NAMESIZE] = {};
      if (in6.sin6_scope_id != 0) {
        host += "%";
        host += ::if_indextoname(in6.sin6_scope_id, interface_name)
                    ? std::string(interface_name)
                    : std::to_string(in6.sin6_scope_id);
      }
      return "[" + host + "]:" + std::to_string(port());
    }
    case AF_UNIX: {
      if (size_ <= kUnixPathOffset) return "unix:(unnamed)";
      const auto& un = as_unix(storage_);
      const size_t length = size_ - kUnixPathOffset;
      if (un.sun_path[0] == '\0') {
        return "unix:@" + printable(std::string_view(un.sun_path + 1, length - 1));
      }
      return "unix:" + printable(std::string_view(un.sun_path, strnlen(un.sun_path, length)));
    }
    default:
      return size_ == 0 ? "(none)" : "(family " + std::to_string(family()) + ")";
  }
}

bool operator==(const SocketAddress& a, const SocketAddress& b) noexcept {
  return a.size_ == b.size_ && std::memcmp(&a.storage_, &b.storage_, a.size_) == 0;
}

namespace {

// getsockname and getpeername have one shape: a descriptor, a buffer and its length.
template <typename NameCall>
Result<SocketAddress> name_of(int fd, NameCall call, const char* operation) {
  SocketAddress address;
  socklen_t size = SocketAddress::capacity();
  if (call(fd, address.data(), &size) != 0) {
    return Error(operation, "fd " + std::to_string(fd), errno);
  }
  address.resize(size);
  return address;
}

}  // namespace

Result<SocketAddress> SocketAddress::local_of(int fd) {
  return name_of(fd, ::getsockname, "getsockname");
}

Result<SocketAddress> SocketAddress::peer_of(int fd) {
  return name_of(fd, ::getpeername, "getpeername");
}

}  // namespace doorman
