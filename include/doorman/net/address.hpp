#pragma once
// Address: an address as users write it (B2), parsed, printed back and resolved.
// Any thread.
//
//   host:port  127.0.0.1:8001  [::1]:8001  *:8001 (IPv4, all interfaces)  [::]:8001 (IPv6, all)
//   unix:/path/file.sock       unix:@abstract-name (Linux abstract namespace: no file)

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "doorman/base/result.hpp"
#include "doorman/net/socket_address.hpp"

namespace doorman {

enum class SocketType { stream, datagram };

int to_native(SocketType type) noexcept;  // SOCK_STREAM or SOCK_DGRAM
std::string_view to_string(SocketType type) noexcept;
Result<SocketType> parse_socket_type(std::string_view text);

class Address {
 public:
  enum class Kind { inet, unix_path, unix_abstract };

  // A port of 0 ("the kernel picks one") makes sense only for a listener.
  enum class PortZero { forbidden, allowed };

  static Result<Address> parse(std::string_view text, PortZero port_zero = PortZero::forbidden);

  Kind kind() const noexcept { return kind_; }
  bool is_unix() const noexcept { return kind_ != Kind::inet; }
  const std::string& host() const noexcept { return host_; }  // inet: without brackets
  uint16_t port() const noexcept { return port_; }
  const std::string& path() const noexcept { return path_; }  // unix: the path or the name

  // The text this address parses from: parse(a.to_string()) == a.
  std::string to_string() const;

  // The socket addresses to bind (passive) or connect to, in the resolver's order. A name may
  // give several; "*" and "::" give the wildcard of their family.
  enum class Purpose { bind, connect };
  Result<std::vector<SocketAddress>> resolve(SocketType type, Purpose purpose) const;

  friend bool operator==(const Address&, const Address&) = default;

 private:
  Kind kind_ = Kind::inet;
  std::string host_;
  uint16_t port_ = 0;
  std::string path_;
};

}  // namespace doorman
