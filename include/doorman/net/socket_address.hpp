#pragma once
// SocketAddress: a resolved sockaddr (IPv4, IPv6 or Unix) and its printed form. Any thread.

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "doorman/base/result.hpp"

namespace doorman {

class SocketAddress {
 public:
  SocketAddress() noexcept = default;
  SocketAddress(const sockaddr* address, socklen_t size) noexcept;

  // The caller has checked the length against sun_path (Address::parse does).
  static SocketAddress unix_path(std::string_view path);
  static SocketAddress unix_abstract(std::string_view name);

  // getsockname and getpeername of a descriptor.
  static Result<SocketAddress> local_of(int fd);
  static Result<SocketAddress> peer_of(int fd);

  int family() const noexcept { return storage_.ss_family; }
  const sockaddr* get() const noexcept { return reinterpret_cast<const sockaddr*>(&storage_); }
  socklen_t size() const noexcept { return size_; }

  // For calls that fill the address in (accept, recvfrom, getsockname): pass data() and a
  // size initialised to capacity(), then resize() to what the kernel wrote.
  sockaddr* data() noexcept { return reinterpret_cast<sockaddr*>(&storage_); }
  static constexpr socklen_t capacity() noexcept { return sizeof(sockaddr_storage); }
  void resize(socklen_t size) noexcept { size_ = size; }

  bool empty() const noexcept { return size_ == 0; }
  bool is_unix() const noexcept { return family() == AF_UNIX; }
  // A Unix address whose name starts with a NUL byte: no file behind it.
  bool is_abstract() const noexcept;
  // 0.0.0.0 or [::]: every interface.
  bool is_any() const noexcept;
  uint16_t port() const noexcept;
  void set_port(uint16_t port) noexcept;

  // "127.0.0.1:8001", "[::1]:8001", "unix:/run/d.sock", "unix:@name", "unix:(unnamed)".
  std::string to_string() const;

  friend bool operator==(const SocketAddress& a, const SocketAddress& b) noexcept;

 private:
  sockaddr_storage storage_{};
  socklen_t size_ = 0;
};

}  // namespace doorman
