#include "doorman/net/socket.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

using namespace doorman;
using namespace std::chrono_literals;

namespace {

SocketAddress loopback(const char* text) {
  return Address::parse(text, Address::PortZero::allowed)
      ->resolve(SocketType::stream, Address::Purpose::bind)
      ->front();
}

struct Listener {
  Socket socket;
  SocketAddress address;
};

Listener listen_on(const char* text, SocketType type = SocketType::stream) {
  const SocketAddress where = loopback(text);
  auto socket = Socket::create(where.family(), type);
  EXPECT_TRUE(socket.ok());
  EXPECT_TRUE(socket->bind(where).ok());
  if (type == SocketType::stream) {
    EXPECT_TRUE(socket->listen(5).ok());
  }
  auto bound = socket->local_address();
  return Listener{std::move(socket).value(), *bound};
}

TEST(Fd, ClosesOnDestructionAndMoves) {
  int raw[2];
  ASSERT_EQ(::pipe(raw), 0);
  { Fd reader(raw[0]); }
  EXPECT_EQ(::fcntl(raw[0], F_GETFD), -1);
  Fd writer(raw[1]);
  Fd moved = std::move(writer);
  EXPECT_FALSE(writer.valid());  // NOLINT: checking the moved-from state is the point
  EXPECT_EQ(moved.get(), raw[1]);
  EXPECT_EQ(moved.release(), raw[1]);
  EXPECT_FALSE(moved.valid());
  ::close(raw[1]);
}

TEST(Socket, PairSendsAndReceives) {
  auto pair = Socket::pair(SocketType::stream);
  ASSERT_TRUE(pair.ok());
  auto& [left, right] = *pair;
  ASSERT_TRUE(left.sendall("1").ok());
  EXPECT_EQ(*right.recv(1024), "1");
}

TEST(Socket, RecvIsTruncatedToItsSizeAndKeepsTheRest) {
  auto pair = Socket::pair(SocketType::stream);
  auto& [left, right] = *pair;
  ASSERT_TRUE(left.sendall("abcdef").ok());
  EXPECT_EQ(*right.recv(4), "abcd");
  EXPECT_EQ(*right.recv(4), "ef");
}

TEST(Socket, EmptyRecvMeansThePeerClosed) {
  auto pair = Socket::pair(SocketType::stream);
  auto& [left, right] = *pair;
  left.close();
  EXPECT_EQ(*right.recv(16), "");
}

TEST(Socket, SettimeoutMakesRecvTimeOut) {
  auto pair = Socket::pair(SocketType::stream);
  auto& [left, right] = *pair;
  ASSERT_TRUE(right.settimeout(50ms).ok());
  auto got = right.recv(16);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code(), ETIMEDOUT);
  EXPECT_NE(got.error().message().find("recv"), std::string::npos);
}

TEST(Socket, SendToAClosedPeerIsAnErrorNotASignal) {
  auto pair = Socket::pair(SocketType::stream);
  auto& [left, right] = *pair;
  right.close();
  auto sent = left.send("x");
  ASSERT_FALSE(sent.ok());
  EXPECT_EQ(sent.error().code(), EPIPE);
}

TEST(Socket, AcceptReturnsConnectionAndPeerOnPortZero) {
  Listener listener = listen_on("127.0.0.1:0");
  ASSERT_NE(listener.address.port(), 0);
  auto client = Socket::create(AF_INET, SocketType::stream);
  ASSERT_TRUE(client->connect(listener.address, 2s).ok());
  auto accepted = listener.socket.accept();
  ASSERT_TRUE(accepted.ok());
  EXPECT_EQ(accepted->peer, *client->local_address());
  ASSERT_TRUE(client->sendall("1").ok());
  EXPECT_EQ(*accepted->connection.recv(1024), "1");
  ASSERT_TRUE(accepted->connection.sendall("welcome to server!").ok());
  EXPECT_EQ(*client->recv(1024), "welcome to server!");
}

TEST(Socket, IPv6Loopback) {
  Listener listener = listen_on("[::1]:0");
  auto client = Socket::create(AF_INET6, SocketType::stream);
  ASSERT_TRUE(client->connect(listener.address, 2s).ok());
  auto accepted = listener.socket.accept();
  ASSERT_TRUE(accepted.ok());
  EXPECT_EQ(accepted->peer.family(), AF_INET6);
}

TEST(Socket, ConnectRefusedNamesAddressAndReason) {
  // Bind a port and close it without listening: nothing answers there.
  Listener listener = listen_on("127.0.0.1:0", SocketType::datagram);
  const SocketAddress nobody = listener.address;
  listener.socket.close();
  auto client = Socket::create(AF_INET, SocketType::stream);
  auto connected = client->connect(nobody, 2s);
  ASSERT_FALSE(connected.ok());
  EXPECT_EQ(connected.error().code(), ECONNREFUSED);
  EXPECT_EQ(connected.error().message(),
            "connect " + nobody.to_string() + ": connection refused (ECONNREFUSED)");
}

TEST(Socket, AFailedBoundedConnectLeavesTheSocketAsItWas) {
  Listener listener = listen_on("127.0.0.1:0", SocketType::datagram);
  const SocketAddress nobody = listener.address;
  listener.socket.close();
  auto client = Socket::create(AF_INET, SocketType::stream);
  ASSERT_FALSE(client->connect(nobody, 2s).ok());
  EXPECT_EQ(::fcntl(client->fd(), F_GETFL) & O_NONBLOCK, 0);  // still blocking
}

TEST(Socket, BindInUseSaysSoWithAHint) {
  Listener listener = listen_on("127.0.0.1:0");
  auto second = Socket::create(AF_INET, SocketType::stream);
  auto bound = second->bind(listener.address);
  ASSERT_FALSE(bound.ok());
  EXPECT_EQ(bound.error().code(), EADDRINUSE);
  EXPECT_NE(bound.error().message().find(listener.address.to_string()), std::string::npos);
  EXPECT_FALSE(bound.error().hint().empty());
}

TEST(Socket, UnixAbstractStream) {
  const std::string name = "unix:@doorman-test-" + std::to_string(::getpid());
  Listener listener = listen_on(name.c_str());
  EXPECT_EQ(listener.address.to_string(), name);
  auto client = Socket::create(AF_UNIX, SocketType::stream);
  ASSERT_TRUE(client->connect(listener.address).ok());
  auto accepted = listener.socket.accept();
  ASSERT_TRUE(accepted.ok());
  ASSERT_TRUE(client->sendall("2").ok());
  EXPECT_EQ(*accepted->connection.recv(1024), "2");
}

TEST(Socket, UdpDatagramRoundTrip) {
  Listener server = listen_on("127.0.0.1:0", SocketType::datagram);
  auto client = Socket::create(AF_INET, SocketType::datagram);
  ASSERT_TRUE(client->sendto("1", server.address).ok());
  auto datagram = server.socket.recvfrom(1024);
  ASSERT_TRUE(datagram.ok());
  EXPECT_EQ(datagram->data, "1");
  ASSERT_TRUE(server.socket.sendto("welcome to server!", datagram->sender).ok());
  auto reply = client->recvfrom(1024);
  EXPECT_EQ(reply->data, "welcome to server!");
  EXPECT_EQ(reply->sender, server.address);
}

TEST(Socket, DescriptorsAreCloseOnExec) {
  auto socket = Socket::create(AF_INET, SocketType::stream);
  EXPECT_TRUE(::fcntl(socket->fd(), F_GETFD) & FD_CLOEXEC);
  auto nonblocking = Socket::create(AF_INET, SocketType::stream, Socket::Blocking::no);
  EXPECT_TRUE(::fcntl(nonblocking->fd(), F_GETFL) & O_NONBLOCK);
}

}  // namespace
