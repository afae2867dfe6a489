#include "doorman/bench/source_addresses.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

namespace doorman::bench {
namespace {

SocketAddress inet(const char* address, uint16_t port) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(port);
  ::inet_pton(AF_INET, address, &in.sin_addr);
  return SocketAddress(reinterpret_cast<const sockaddr*>(&in), sizeof(in));
}

TEST(SourceAddresses, ParsesACommaSeparatedList) {
  auto sources = parse_sources("127.0.0.2,127.0.0.3");
  ASSERT_TRUE(sources) << sources.error().message();
  ASSERT_EQ(sources->size(), 2u);
  EXPECT_EQ((*sources)[0].to_string(), "127.0.0.2:0");
  EXPECT_EQ((*sources)[1].to_string(), "127.0.0.3:0");
  auto v6 = parse_sources("[::1]");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->front().family(), AF_INET6);
}

TEST(SourceAddresses, RejectsWhatIsNoAddress) {
  EXPECT_FALSE(parse_sources(""));
  EXPECT_FALSE(parse_sources("127.0.0.2,"));
  EXPECT_FALSE(parse_sources("localhost"));
  EXPECT_FALSE(parse_sources("127.0.0.2:80"));
  EXPECT_FALSE(parse_sources("127.0.0.2,::1"));  // one family
}

TEST(SourceAddresses, SpreadsOnlyWhenOneAddressHasTooFewPorts) {
  const auto target = inet("127.0.0.1", 8001);
  EXPECT_TRUE(spread_sources(target, 1'000, 28'232).empty());
  const auto spread = spread_sources(target, 1'000'000, 28'232);
  // 75 % of the ports each: 21,174 connections per address.
  ASSERT_EQ(spread.size(), 48u);
  EXPECT_EQ(spread.front().to_string(), "127.0.0.2:0");
  EXPECT_EQ(spread.back().to_string(), "127.0.0.49:0");
  // Off loopback the kernel's routing decides: nothing is spread.
  EXPECT_TRUE(spread_sources(inet("192.0.2.1", 8001), 1'000'000, 28'232).empty());
}

}  // namespace
}  // namespace doorman::bench
