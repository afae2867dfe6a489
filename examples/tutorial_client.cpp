// The tutorial's client.py, step by step, on doorman's Socket.
//
//   tutorial-client [PORT [DELAY_SECONDS [MESSAGE]]]   (the tutorial's: 8001, 2 and '1')

#include <sys/socket.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "doorman/net/socket.hpp"

using namespace doorman;

static int fail(const Error& error) {
  std::fprintf(stderr, "tutorial-client: %s\n", error.message().c_str());
  return 1;
}

int main(int argc, char** argv) {
  const std::string port = argc > 1 ? argv[1] : "8001";
  const double delay_seconds = argc > 2 ? std::atof(argv[2]) : 2.0;
  const std::string message = argc > 3 ? argv[3] : "1";

  // Create a socket to reach the server: socket.socket(AF_INET, SOCK_STREAM).
  auto sock = Socket::create(AF_INET, SocketType::stream);
  if (!sock) return fail(sock.error());

  // Connect: sock.connect(('localhost', 8001)).
  auto address = Address::parse("localhost:" + port);
  if (!address) return fail(address.error());
  auto resolved = address->resolve(SocketType::stream, Address::Purpose::connect);
  if (!resolved) return fail(resolved.error());
  SocketAddress server = resolved->front();
  for (const SocketAddress& candidate : *resolved) {
    if (candidate.family() == AF_INET) server = candidate;
  }
  if (auto connected = sock->connect(server); !connected) return fail(connected.error());

  // time.sleep(2)
  std::this_thread::sleep_for(std::chrono::duration<double>(delay_seconds));

  // Talk: sock.send('1'); print sock.recv(1024).
  if (auto sent = sock->send(message); !sent) return fail(sent.error());
  auto reply = sock->recv(1024);
  if (!reply) return fail(reply.error());
  std::printf("%s\n", reply->c_str());

  // The transfer is over: sock.close().
  sock->close();
  return 0;
}
