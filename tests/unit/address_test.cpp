#include "doorman/net/address.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstring>
#include <string>

using namespace doorman;
using Kind = Address::Kind;

namespace {

// The file a Unix address names: sun_path up to its terminator (empty for an abstract name,
// whose first byte is NUL).
std::string file_of(const SocketAddress& address) {
  const auto* un = reinterpret_cast<const sockaddr_un*>(address.get());
  return std::string(un->sun_path, strnlen(un->sun_path, sizeof(un->sun_path)));
}

struct Good {
  const char* text;
  Kind kind;
  const char* host_or_path;
  uint16_t port;
};

class AddressRoundTrip : public ::testing::TestWithParam<Good> {};

TEST_P(AddressRoundTrip, ParsesAndPrintsBackTheSameText) {
  const Good& good = GetParam();
  auto parsed = Address::parse(good.text, Address::PortZero::allowed);
  ASSERT_TRUE(parsed.ok()) << good.text << ": " << parsed.error().message();
  EXPECT_EQ(parsed->kind(), good.kind);
  if (good.kind == Kind::inet) {
    EXPECT_EQ(parsed->host(), good.host_or_path);
    EXPECT_EQ(parsed->port(), good.port);
  } else {
    EXPECT_EQ(parsed->path(), good.host_or_path);
  }
  EXPECT_EQ(parsed->to_string(), good.text);
  EXPECT_EQ(*Address::parse(parsed->to_string(), Address::PortZero::allowed), *parsed);
}

INSTANTIATE_TEST_SUITE_P(
    EveryForm, AddressRoundTrip,
    ::testing::Values(Good{"localhost:8001", Kind::inet, "localhost", 8001},
                      Good{"127.0.0.1:8001", Kind::inet, "127.0.0.1", 8001},
                      Good{"127.0.0.1:0", Kind::inet, "127.0.0.1", 0},
                      Good{"127.0.0.1:65535", Kind::inet, "127.0.0.1", 65535},
                      Good{"127.0.0.1:1", Kind::inet, "127.0.0.1", 1},
                      Good{"example.com:80", Kind::inet, "example.com", 80},
                      Good{"my-host_1.lan:9000", Kind::inet, "my-host_1.lan", 9000},
                      Good{"*:8001", Kind::inet, "*", 8001},
                      Good{"0.0.0.0:8001", Kind::inet, "0.0.0.0", 8001},
                      Good{"[::1]:8001", Kind::inet, "::1", 8001},
                      Good{"[::]:8001", Kind::inet, "::", 8001},
                      Good{"[fe80::1%lo]:8001", Kind::inet, "fe80::1%lo", 8001},
                      Good{"[2001:db8::42]:443", Kind::inet, "2001:db8::42", 443},
                      Good{"[::ffff:127.0.0.1]:8001", Kind::inet, "::ffff:127.0.0.1", 8001},
                      Good{"unix:/run/doorman.sock", Kind::unix_path, "/run/doorman.sock", 0},
                      Good{"unix:relative.sock", Kind::unix_path, "relative.sock", 0},
                      Good{"unix:/tmp/with space.sock", Kind::unix_path, "/tmp/with space.sock", 0},
                      Good{"unix:/tmp/a:b.sock", Kind::unix_path, "/tmp/a:b.sock", 0},
                      Good{"unix:@doorman", Kind::unix_abstract, "doorman", 0},
                      Good{"unix:@with/slash", Kind::unix_abstract, "with/slash", 0},
                      Good{"unix:@@", Kind::unix_abstract, "@", 0}));

struct Bad {
  std::string text;
  const char* words;  // what the error must say
};

class AddressRejects : public ::testing::TestWithParam<Bad> {};

TEST_P(AddressRejects, WithAReason) {
  const Bad& bad = GetParam();
  auto parsed = Address::parse(bad.text);
  ASSERT_FALSE(parsed.ok()) << bad.text;
  const std::string message = parsed.error().message();
  EXPECT_NE(message.find(bad.words), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << "one line: " << message;
}

INSTANTIATE_TEST_SUITE_P(
    EveryBadForm, AddressRejects,
    ::testing::Values(Bad{"localhost", "no port"}, Bad{"localhost:", "no port"}, Bad{"", "no port"},
                      Bad{":8001", "empty host"}, Bad{"localhost:0", "port 0"},
                      Bad{"localhost:65536", "0 to 65535"}, Bad{"localhost:99999999", "0 to 65535"},
                      Bad{"localhost:-1", "0 to 65535"}, Bad{"localhost:+80", "0 to 65535"},
                      Bad{"localhost:80a", "0 to 65535"}, Bad{"localhost:http", "0 to 65535"},
                      Bad{"localhost: 80", "0 to 65535"}, Bad{"[::1", "without a closing"},
                      Bad{"[::1:8001", "without a closing"}, Bad{"[::1]", "':port'"},
                      Bad{"[::1]8001", "':port'"}, Bad{"[]:8001", "empty host"},
                      Bad{"[nonsense]:8001", "not an IPv6 address"},
                      Bad{"[127.0.0.1]:8001", "not an IPv6"}, Bad{"::1:8001", "brackets"},
                      Bad{"fe80::1:80", "brackets"}, Bad{"bad host:80", "not a host name"},
                      Bad{"host/x:80", "not a host name"},
                      Bad{std::string("local\0host:80", 13), "NUL"},
                      Bad{std::string("unix:/tmp/a\0b", 13), "NUL"},
                      Bad{"unix:", "empty Unix socket path"}, Bad{"unix:@", "empty abstract name"},
                      Bad{"unix:/" + std::string(107, 'x'), "longer than the 107"},
                      Bad{"unix:@" + std::string(108, 'x'), "longer than the 107"}));

TEST(Address, PortZeroOnlyWhenAllowed) {
  EXPECT_FALSE(Address::parse("127.0.0.1:0").ok());
  EXPECT_TRUE(Address::parse("127.0.0.1:0", Address::PortZero::allowed).ok());
}

TEST(Address, LongestUnixPathFits) {
  const std::string path = "/" + std::string(106, 'p');
  auto parsed = Address::parse("unix:" + path);
  ASSERT_TRUE(parsed.ok());
  auto resolved = parsed->resolve(SocketType::stream, Address::Purpose::bind);
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(file_of(resolved->front()), path);
  EXPECT_EQ(resolved->front().to_string(), "unix:" + path);
}

TEST(Address, ErrorQuotesTheText) {
  auto parsed = Address::parse("nope");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().message(), "parse address 'nope': no port (expected host:port)");
}

TEST(AddressResolve, NumericIPv4) {
  auto resolved =
      Address::parse("127.0.0.1:8001")->resolve(SocketType::stream, Address::Purpose::connect);
  ASSERT_TRUE(resolved.ok());
  ASSERT_EQ(resolved->size(), 1u);
  EXPECT_EQ(resolved->front().family(), AF_INET);
  EXPECT_EQ(resolved->front().to_string(), "127.0.0.1:8001");
}

TEST(AddressResolve, NumericIPv6) {
  auto resolved =
      Address::parse("[::1]:8001")->resolve(SocketType::datagram, Address::Purpose::connect);
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved->front().family(), AF_INET6);
  EXPECT_EQ(resolved->front().to_string(), "[::1]:8001");
}

TEST(AddressResolve, StarIsTheIPv4Wildcard) {
  auto resolved = Address::parse("*:8001")->resolve(SocketType::stream, Address::Purpose::bind);
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved->front().to_string(), "0.0.0.0:8001");
}

TEST(AddressResolve, BracketedAnyIsTheIPv6Wildcard) {
  auto resolved = Address::parse("[::]:8001")->resolve(SocketType::stream, Address::Purpose::bind);
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved->front().to_string(), "[::]:8001");
}

TEST(AddressResolve, LocalhostGivesLoopback) {
  auto resolved =
      Address::parse("localhost:8001")->resolve(SocketType::stream, Address::Purpose::connect);
  ASSERT_TRUE(resolved.ok());
  for (const auto& address : *resolved) {
    EXPECT_TRUE(address.to_string() == "127.0.0.1:8001" || address.to_string() == "[::1]:8001")
        << address.to_string();
  }
}

TEST(AddressResolve, UnknownHostNamesTheAddressAndSaysNotFound) {
  auto resolved = Address::parse("no-such-host.invalid:8001")
                      ->resolve(SocketType::stream, Address::Purpose::connect);
  ASSERT_FALSE(resolved.ok());
  EXPECT_NE(resolved.error().message().find("no-such-host.invalid:8001"), std::string::npos);
  EXPECT_NE(resolved.error().message().find("not found"), std::string::npos);
}

TEST(AddressResolve, AbstractNameHasExactLength) {
  auto resolved =
      Address::parse("unix:@doorman")->resolve(SocketType::stream, Address::Purpose::bind);
  ASSERT_TRUE(resolved.ok());
  const SocketAddress& address = resolved->front();
  EXPECT_TRUE(address.is_abstract());
  EXPECT_EQ(address.size(), offsetof(sockaddr_un, sun_path) + 1 + 7);  // NUL + "doorman"
  EXPECT_EQ(address.to_string(), "unix:@doorman");
  EXPECT_EQ(file_of(address), "");
}

TEST(AddressResolve, UnixPathIncludesItsTerminator) {
  auto resolved =
      Address::parse("unix:/tmp/d.sock")->resolve(SocketType::stream, Address::Purpose::bind);
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(file_of(resolved->front()), "/tmp/d.sock");
  EXPECT_FALSE(resolved->front().is_abstract());
}

TEST(SocketTypeParse, Names) {
  EXPECT_EQ(*parse_socket_type("stream"), SocketType::stream);
  EXPECT_EQ(*parse_socket_type("dgram"), SocketType::datagram);
  EXPECT_FALSE(parse_socket_type("raw").ok());
  EXPECT_FALSE(parse_socket_type("").ok());
}

TEST(SocketAddressPrint, IPv4AndIPv6Ports) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(1234);
  ::inet_pton(AF_INET, "10.1.2.3", &in.sin_addr);
  SocketAddress address(reinterpret_cast<sockaddr*>(&in), sizeof(in));
  EXPECT_EQ(address.to_string(), "10.1.2.3:1234");
  address.set_port(80);
  EXPECT_EQ(address.port(), 80);
  EXPECT_EQ(SocketAddress().to_string(), "(none)");
}

}  // namespace

namespace {

TEST(SocketAddressPrint, UnixNamesCannotCarryControlBytesIntoALine) {
  const auto abstract = SocketAddress::unix_abstract("evil\n2026 info forged\x1b[31m");
  EXPECT_EQ(abstract.to_string(), "unix:@evil\\x0a2026 info forged\\x1b[31m");
  const auto path = SocketAddress::unix_path("/tmp/a\\b\tc.sock");
  EXPECT_EQ(path.to_string(), "unix:/tmp/a\\x5cb\\x09c.sock");
  EXPECT_EQ(file_of(path), "/tmp/a\\b\tc.sock");  // the file itself is untouched
}

}  // namespace
