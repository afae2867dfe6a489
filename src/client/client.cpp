#include "doorman/client/client.hpp"

#include <sys/socket.h>
#include <sysexits.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <thread>
#include <vector>

#include "doorman/net/socket.hpp"

namespace doorman::client {
namespace {

// "Connection refused (ECONNREFUSED)": the system's own words, as the tutorial's users see them
// from Python.
std::string system_reason(const Error& error) {
  if (error.code() == 0) return error.reason();
  return std::string(::strerror(error.code())) + " (" + errno_name(error.code()) + ")";
}

Failure cannot_connect(const Error& error) {
  return {EX_UNAVAILABLE, "cannot connect to " + error.address() + ": " + system_reason(error)};
}

// A read or write on an established connection failed: why, in the user's terms.
Failure exchange_failed(const Error& error, const Config& config) {
  switch (error.code()) {
    case ETIMEDOUT:
      return {EX_TEMPFAIL, "no reply from " + error.address() + " within " +
                               format_duration(config.reply_timeout)};
    case ECONNRESET:
    case EPIPE:
      return {EX_PROTOCOL, "server at " + error.address() +
                               " closed the connection without a reply (" + system_reason(error) +
                               ")"};
    case ECONNREFUSED:  // a datagram met no server: the kernel's port-unreachable answer
      return cannot_connect(error);
    default:
      return system_failure(error);
  }
}

Result<Socket, Failure> connect_first(const Config& config,
                                      const std::vector<SocketAddress>& addresses) {
  std::optional<Error> last;
  for (const SocketAddress& address : addresses) {
    auto socket = Socket::create(address.family(), config.type);
    if (!socket) return system_failure(socket.error());
    // A Unix datagram client must have an address of its own, or the server cannot answer.
    if (config.type == SocketType::datagram && address.is_unix()) {
      if (auto bound = autobind(socket->fd()); !bound) return system_failure(bound.error());
    }
    auto connected = socket->connect(address, config.connect_timeout);
    if (connected) return std::move(socket).value();
    last = std::move(connected).error();
  }
  return cannot_connect(*last);
}

}  // namespace

Address default_server() {
  return Address::parse("localhost:8001").value();
}

Result<std::string, Failure> run(const Config& config) {
  auto addresses = config.server.resolve(config.type, Address::Purpose::connect);
  if (!addresses) {
    const Error& error = addresses.error();
    return Failure{EX_NOHOST, "cannot resolve " + error.address() + ": " + error.reason()};
  }
  auto connected = connect_first(config, *addresses);
  if (!connected) return std::move(connected).error();
  Socket& socket = *connected;

  std::this_thread::sleep_for(config.delay);

  if (auto bounded = socket.settimeout(config.reply_timeout); !bounded) {
    return system_failure(bounded.error());
  }
  // A datagram is sent whole, even an empty one; a stream may take the message in pieces.
  if (config.type == SocketType::datagram) {
    if (auto sent = socket.send(config.message); !sent)
      return exchange_failed(sent.error(), config);
  } else if (auto sent = socket.sendall(config.message); !sent) {
    return exchange_failed(sent.error(), config);
  }
  auto reply = socket.recv(config.read_size);
  if (!reply) return exchange_failed(reply.error(), config);
  if (reply->empty() && config.type == SocketType::stream) {
    return Failure{EX_PROTOCOL,
                   "server at " + socket.label() + " closed the connection without a reply"};
  }
  return std::move(reply).value();
}

}  // namespace doorman::client
