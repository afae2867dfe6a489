#include "doorman/net/socket.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

namespace doorman {
namespace {

// A call interrupted by a signal handler is simply made again.
template <typename Call>
auto retry_on_eintr(Call call) {
  decltype(call()) status;
  do {
    status = call();
  } while (status < 0 && errno == EINTR);
  return status;
}

std::string bind_hint(const SocketAddress& address, int code) {
  switch (code) {
    case EADDRINUSE:
      return address.is_unix() ? "another socket has that name"
                               : "another process is listening there (ss -lntup shows which)";
    case EACCES:
      if (address.is_unix()) return "no permission to create the file in that directory";
      return address.port() < 1024 ? "ports below 1024 need root or CAP_NET_BIND_SERVICE" : "";
    case EADDRNOTAVAIL:
      return "no interface of this machine has that address";
    case ENOENT:
      return "the directory does not exist";
    default:
      return {};
  }
}

int poll_timeout_ms(Duration timeout) {
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(timeout).count();
  return static_cast<int>(std::min<decltype(ms)>(ms, 1 << 30));
}

// recv and send on a socket with settimeout() report expiry as EAGAIN; the tutorial calls it a
// timeout, and so do we.
int timeout_errno(int code) {
  return would_block(code) ? ETIMEDOUT : code;
}

}  // namespace

Result<Socket> Socket::create(int family, SocketType type, Blocking blocking) {
  const int flags = SOCK_CLOEXEC | (blocking == Blocking::no ? SOCK_NONBLOCK : 0);
  const int fd = ::socket(family, to_native(type) | flags, 0);
  if (fd < 0) return Error("socket", std::string(to_string(type)), errno);
  return Socket(Fd(fd));
}

Result<std::pair<Socket, Socket>> Socket::pair(SocketType type) {
  int fds[2];
  if (::socketpair(AF_UNIX, to_native(type) | SOCK_CLOEXEC, 0, fds) != 0) {
    return Error("socketpair", std::string(to_string(type)), errno);
  }
  return std::pair{Socket(Fd(fds[0]), "socketpair"), Socket(Fd(fds[1]), "socketpair")};
}

Error Socket::fail(std::string operation, int code, std::string address) const {
  return Error(std::move(operation), address.empty() ? label_ : std::move(address), code);
}

Result<void> Socket::bind(const SocketAddress& address) {
  label_ = address.to_string();
  if (::bind(fd(), address.get(), address.size()) != 0) {
    const int code = errno;
    return Error("bind", label_, code, bind_hint(address, code));
  }
  return {};
}

Result<void> Socket::listen(int backlog) {
  if (::listen(fd(), backlog) != 0) return fail("listen", errno);
  return {};
}

Result<Accepted> Socket::accept() {
  Accepted accepted;
  socklen_t size = SocketAddress::capacity();
  const int fd = retry_on_eintr(
      [&] { return ::accept4(this->fd(), accepted.peer.data(), &size, SOCK_CLOEXEC); });
  if (fd < 0) return fail("accept", timeout_errno(errno));
  accepted.peer.resize(size);
  accepted.connection = Socket(Fd(fd), accepted.peer.to_string());
  return accepted;
}

Result<void> Socket::connect(const SocketAddress& address, std::optional<Duration> timeout) {
  label_ = address.to_string();
  if (!timeout) {
    if (retry_on_eintr([&] { return ::connect(fd(), address.get(), address.size()); }) != 0) {
      return fail("connect", errno);
    }
    return {};
  }
  if (address.is_unix()) return connect_unix(address, *timeout);
  // A bounded connect: start it non-blocking, wait for writability, then read its outcome.
  const int flags = ::fcntl(fd(), F_GETFL);
  if (flags < 0 || ::fcntl(fd(), F_SETFL, flags | O_NONBLOCK) != 0) return fail("fcntl", errno);
  auto connected = connect_nonblocking(address, *timeout);
  // The socket goes back to how it was whatever the outcome: a caller that keeps it after a
  // failure must not find it non-blocking.
  if (::fcntl(fd(), F_SETFL, flags) != 0 && connected) return fail("fcntl", errno);
  return connected;
}

Result<void> Socket::connect_nonblocking(const SocketAddress& address, Duration timeout) {
  if (::connect(fd(), address.get(), address.size()) == 0) return {};
  // EINPROGRESS, or EINTR (the connect goes on in the background): wait for its outcome. For
  // TCP, EAGAIN is not "in progress" but "no local port left", a failure of its own.
  if (errno != EINPROGRESS && errno != EINTR) return fail("connect", errno);
  pollfd waiting{fd(), POLLOUT, 0};
  const int ready = retry_on_eintr([&] { return ::poll(&waiting, 1, poll_timeout_ms(timeout)); });
  if (ready < 0) return fail("connect", errno);
  if (ready == 0) return fail("connect", ETIMEDOUT);
  int code = 0;
  socklen_t size = sizeof(code);
  if (::getsockopt(fd(), SOL_SOCKET, SO_ERROR, &code, &size) != 0) code = errno;
  if (code != 0) return fail("connect", code);
  return {};
}

Result<void> Socket::connect_unix(const SocketAddress& address, Duration timeout) {
  // A Unix listener with a full queue makes a non-blocking connect fail with EAGAIN, and the
  // unconnected socket then polls writable: the poll dance cannot wait for room in the queue.
  // A blocking connect does wait, bounded by SO_SNDTIMEO.
  if (auto bounded = settimeout(timeout); !bounded) return bounded;
  const int status = ::connect(fd(), address.get(), address.size());
  const int code = errno;
  if (auto unbounded = settimeout(std::nullopt); !unbounded) return unbounded;
  if (status != 0) {
    return fail("connect", code == EAGAIN || code == EINPROGRESS ? ETIMEDOUT : code);
  }
  return {};
}

Result<void> Socket::settimeout(std::optional<Duration> timeout) {
  timeval tv{};
  if (timeout) {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(*timeout).count();
    tv.tv_sec = static_cast<time_t>(us / 1'000'000);
    tv.tv_usec = static_cast<suseconds_t>(us % 1'000'000);
    if (tv.tv_sec == 0 && tv.tv_usec == 0) tv.tv_usec = 1;  // zero would mean "for ever"
  }
  if (::setsockopt(fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
      ::setsockopt(fd(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0) {
    return fail("settimeout", errno);
  }
  return {};
}

Result<std::string> Socket::recv(size_t size) {
  std::string data(size, '\0');
  const ssize_t got = retry_on_eintr([&] { return ::recv(fd(), data.data(), size, 0); });
  if (got < 0) return fail("recv", timeout_errno(errno));
  data.resize(static_cast<size_t>(got));
  return data;
}

Result<Datagram> Socket::recvfrom(size_t size) {
  Datagram datagram{std::string(size, '\0'), {}};
  socklen_t address_size = SocketAddress::capacity();
  const ssize_t got = retry_on_eintr([&] {
    return ::recvfrom(fd(), datagram.data.data(), size, 0, datagram.sender.data(), &address_size);
  });
  if (got < 0) return fail("recvfrom", timeout_errno(errno));
  datagram.data.resize(static_cast<size_t>(got));
  datagram.sender.resize(address_size);
  return datagram;
}

Result<size_t> Socket::send(std::string_view data) {
  // MSG_NOSIGNAL: a peer that has gone is an EPIPE error here, not a SIGPIPE that kills us.
  const ssize_t sent =
      retry_on_eintr([&] { return ::send(fd(), data.data(), data.size(), MSG_NOSIGNAL); });
  if (sent < 0) return fail("send", timeout_errno(errno));
  return static_cast<size_t>(sent);
}

Result<void> Socket::sendall(std::string_view data) {
  while (!data.empty()) {
    auto sent = send(data);
    if (!sent) return std::move(sent).error();
    data.remove_prefix(*sent);
  }
  return {};
}

Result<size_t> Socket::sendto(std::string_view data, const SocketAddress& to) {
  const ssize_t sent = retry_on_eintr(
      [&] { return ::sendto(fd(), data.data(), data.size(), MSG_NOSIGNAL, to.get(), to.size()); });
  if (sent < 0) return fail("sendto", timeout_errno(errno), to.to_string());
  return static_cast<size_t>(sent);
}

Result<SocketAddress> Socket::local_address() const {
  auto address = SocketAddress::local_of(fd());
  if (!address) return fail("getsockname", address.error().code());
  return address;
}

Result<void> Socket::set_option(int level, int name, int value) {
  if (::setsockopt(fd(), level, name, &value, sizeof(value)) != 0) return fail("setsockopt", errno);
  return {};
}

Result<void> autobind(int fd) {
  // Only the family, no name: the length tells the kernel to pick one.
  sockaddr_un unnamed{};
  unnamed.sun_family = AF_UNIX;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&unnamed), sizeof(sa_family_t)) != 0) {
    return Error("bind", "unix:(autobind)", errno);
  }
  return {};
}

}  // namespace doorman
