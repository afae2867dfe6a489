#pragma once
// Socket: the tutorial's socket object, call for call (socket, bind, listen, accept, connect,
// settimeout, recv, send, close), over a move-only descriptor. Thread of its owner.
//
// Sockets are blocking unless made otherwise, like Python's; every one is close-on-exec.
// Errors name the operation and the address: the local one after bind, the peer otherwise.

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "doorman/base/duration.hpp"
#include "doorman/base/result.hpp"
#include "doorman/net/address.hpp"
#include "doorman/net/fd.hpp"
#include "doorman/net/socket_address.hpp"

namespace doorman {

class Socket;

struct Accepted;
struct Datagram;

class Socket {
 public:
  enum class Blocking { yes, no };

  Socket() = default;
  explicit Socket(Fd fd, std::string label = {}) : fd_(std::move(fd)), label_(std::move(label)) {}

  // socket(family, type): AF_INET, AF_INET6 or AF_UNIX; stream or datagram.
  static Result<Socket> create(int family, SocketType type, Blocking blocking = Blocking::yes);
  // Two connected Unix sockets, for tests and in-process plumbing.
  static Result<std::pair<Socket, Socket>> pair(SocketType type);

  Result<void> bind(const SocketAddress& address);
  Result<void> listen(int backlog);
  Result<Accepted> accept();
  // Without a timeout, as long as the kernel tries (about two minutes for TCP).
  Result<void> connect(const SocketAddress& address, std::optional<Duration> timeout = {});
  // Bounds every later recv and send; nullopt blocks for ever. Expiry is an ETIMEDOUT error.
  Result<void> settimeout(std::optional<Duration> timeout);

  // At most `size` bytes; an empty string means the peer closed its side (stream).
  Result<std::string> recv(size_t size);
  Result<Datagram> recvfrom(size_t size);
  Result<size_t> send(std::string_view data);
  Result<void> sendall(std::string_view data);
  Result<size_t> sendto(std::string_view data, const SocketAddress& to);
  void close() noexcept { fd_.reset(); }

  Result<SocketAddress> local_address() const;
  Result<void> set_option(int level, int name, int value);

  int fd() const noexcept { return fd_.get(); }
  bool valid() const noexcept { return fd_.valid(); }
  Fd release() && { return std::move(fd_); }
  // The address named in this socket's errors.
  const std::string& label() const noexcept { return label_; }

 private:
  Error fail(std::string operation, int code, std::string address = {}) const;
  Result<void> connect_unix(const SocketAddress& address, Duration timeout);
  Result<void> connect_nonblocking(const SocketAddress& address, Duration timeout);

  Fd fd_;
  std::string label_;
};

// Binds a Unix socket to a unique abstract name that Linux picks (autobind): a Unix datagram
// client needs a name of its own, or the server cannot answer it.
Result<void> autobind(int fd);

struct Accepted {
  Socket connection;
  SocketAddress peer;
};

struct Datagram {
  std::string data;
  SocketAddress sender;
};

}  // namespace doorman
