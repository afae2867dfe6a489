// The tutorial's server.py, step by step, on doorman's Socket: one client at a time.
//
//   tutorial-server [PORT [TIMEOUT_SECONDS]]      (the tutorial's: 8001 and 5)
//
// It prints `listening on ADDR` on stderr once it accepts connections (so port 0 shows the port
// the kernel chose), then `time out` on stdout for every client that stays silent, as server.py
// does. It serves until it is killed.

#include <sys/socket.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "doorman/net/socket.hpp"

using namespace doorman;

static int fail(const Error& error) {
  std::fprintf(stderr, "tutorial-server: %s\n", error.message().c_str());
  return 1;
}

int main(int argc, char** argv) {
  const std::string port = argc > 1 ? argv[1] : "8001";
  const double timeout_seconds = argc > 2 ? std::atof(argv[2]) : 5.0;

  // Step 1: create the socket object: socket.socket(AF_INET, SOCK_STREAM).
  auto sock = Socket::create(AF_INET, SocketType::stream);
  if (!sock) return fail(sock.error());
  // Not in the tutorial: without SO_REUSEADDR a restarted server cannot bind for a minute after
  // its last connection closed (TIME_WAIT). Python's socketserver sets it too.
  if (auto reuse = sock->set_option(SOL_SOCKET, SO_REUSEADDR, 1); !reuse)
    return fail(reuse.error());

  // Step 2: bind it to an address: sock.bind(('localhost', 8001)).
  auto address = Address::parse("localhost:" + port, Address::PortZero::allowed);
  if (!address) return fail(address.error());
  auto resolved = address->resolve(SocketType::stream, Address::Purpose::bind);
  if (!resolved) return fail(resolved.error());
  SocketAddress local = resolved->front();
  for (const SocketAddress& candidate : *resolved) {
    if (candidate.family() == AF_INET) local = candidate;  // an AF_INET socket takes IPv4
  }
  if (auto bound = sock->bind(local); !bound) return fail(bound.error());

  // Step 3: listen for connections, with a queue of 5: sock.listen(5).
  if (auto listening = sock->listen(5); !listening) return fail(listening.error());
  std::fprintf(stderr, "listening on %s\n", sock->local_address()->to_string().c_str());

  while (true) {
    // Step 4: wait for a client: connection, address = sock.accept().
    auto accepted = sock->accept();
    if (!accepted) return fail(accepted.error());
    Socket& connection = accepted->connection;

    // Step 5: talk. connection.settimeout(5); buf = connection.recv(1024).
    const auto timeout = std::chrono::duration<double>(timeout_seconds);
    (void)connection.settimeout(std::chrono::duration_cast<Duration>(timeout));
    auto buf = connection.recv(1024);
    if (buf) {
      // The password is '1'; anything else is sent away.
      const std::string reply = *buf == "1" ? "welcome to server!" : "please go out!";
      (void)connection.send(reply);
    } else if (buf.error().code() == ETIMEDOUT) {
      // except socket.timeout: print 'time out'
      std::printf("time out\n");
      std::fflush(stdout);
    }

    // Step 6: the transfer is over: connection.close().
    connection.close();
  }
}
