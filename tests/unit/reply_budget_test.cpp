#include "doorman/server/reply_budget.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <string>

using doorman::SocketAddress;
using doorman::loop::Clock;
using doorman::server::ReplyBudget;
using doorman::server::source_key;
using doorman::server::SourceKey;
using namespace std::chrono_literals;

namespace {

SocketAddress ipv4(const char* host, uint16_t port = 9) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(port);
  inet_pton(AF_INET, host, &in.sin_addr);
  return SocketAddress(reinterpret_cast<const sockaddr*>(&in), sizeof(in));
}

SourceKey key(uint32_t number) {
  SourceKey made;
  made.bytes[12] = static_cast<uint8_t>(number >> 24);
  made.bytes[13] = static_cast<uint8_t>(number >> 16);
  made.bytes[14] = static_cast<uint8_t>(number >> 8);
  made.bytes[15] = static_cast<uint8_t>(number);
  return made;
}

// How many of `tries` replies at `at` the budget allows.
int allowed(ReplyBudget& budget, const SourceKey& source, Clock::time_point at, int tries) {
  int count = 0;
  for (int i = 0; i < tries; ++i)
    count += budget.take(source, at) ? 1 : 0;
  return count;
}

const Clock::time_point kStart = Clock::time_point{} + 1000s;

TEST(SourceKey, IgnoresThePortAndTellsHostsApart) {
  EXPECT_EQ(source_key(ipv4("192.0.2.1", 1)), source_key(ipv4("192.0.2.1", 2)));
  EXPECT_NE(source_key(ipv4("192.0.2.1")), source_key(ipv4("192.0.2.2")));
  EXPECT_NE(source_key(SocketAddress::unix_abstract("a")),
            source_key(SocketAddress::unix_abstract("b")));
}

TEST(ReplyBudget, ANewSourceHasAFullBurst) {
  ReplyBudget budget(10, 5);
  EXPECT_EQ(allowed(budget, key(1), kStart, 100), 5);
}

TEST(ReplyBudget, RefillsAtTheRate) {
  ReplyBudget budget(10, 5);
  ASSERT_EQ(allowed(budget, key(1), kStart, 5), 5);
  EXPECT_FALSE(budget.take(key(1), kStart + 99ms));
  EXPECT_TRUE(budget.take(key(1), kStart + 100ms));
  EXPECT_FALSE(budget.take(key(1), kStart + 150ms));
  // Over one second at most rate x 1 s more, however often it asks.
  int over_a_second = 0;
  for (auto at = kStart + 101ms; at <= kStart + 1100ms; at += 1ms) {
    over_a_second += budget.take(key(1), at) ? 1 : 0;
  }
  EXPECT_EQ(over_a_second, 10);
}

TEST(ReplyBudget, AnIdleSourceGetsNoMoreThanTheBurst) {
  ReplyBudget budget(10, 5);
  ASSERT_EQ(allowed(budget, key(1), kStart, 5), 5);
  EXPECT_EQ(allowed(budget, key(1), kStart + 1h, 100), 5);
}

TEST(ReplyBudget, SourcesHaveTheirOwnBuckets) {
  ReplyBudget budget(10, 3);
  EXPECT_EQ(allowed(budget, key(1), kStart, 10), 3);
  EXPECT_EQ(allowed(budget, key(2), kStart, 10), 3);
  EXPECT_EQ(allowed(budget, key(1), kStart, 10), 0);
}

TEST(ReplyBudget, NeverHoldsMoreThanItsCapacity) {
  ReplyBudget budget(10, 2, 4);
  for (uint32_t source = 0; source < 100; ++source)
    budget.take(key(source), kStart);
  EXPECT_EQ(budget.size(), 4U);
  EXPECT_EQ(budget.capacity(), 4U);
}

TEST(ReplyBudget, ForgetsTheSourceHeardFromLeastRecently) {
  ReplyBudget budget(1, 1, 3);
  for (uint32_t source = 1; source <= 3; ++source)
    ASSERT_TRUE(budget.take(key(source), kStart));
  EXPECT_FALSE(budget.take(key(1), kStart));  // 1 is now the most recent; 2 the oldest
  ASSERT_TRUE(budget.take(key(4), kStart));   // evicts 2
  EXPECT_TRUE(budget.take(key(2), kStart));   // forgotten, so a full bucket again; evicts 3
  EXPECT_FALSE(budget.take(key(1), kStart));  // still remembered: empty
  EXPECT_FALSE(budget.take(key(4), kStart));
  EXPECT_TRUE(budget.take(key(3), kStart));  // evicted by 2
}

TEST(ReplyBudget, StaysConsistentUnderChurn) {
  // Many more sources than room, revisited in a pattern: every bucket chain and the age list
  // must stay intact (a broken link would loop or lose entries).
  ReplyBudget budget(1000, 1, 64);
  for (int round = 0; round < 50; ++round) {
    for (uint32_t source = 0; source < 200; source += 1 + static_cast<uint32_t>(round % 3)) {
      budget.take(key(source * 7919U), kStart + std::chrono::milliseconds(round));
    }
    ASSERT_EQ(budget.size(), 64U);
  }
  // The last round saw the even sources 0..198: the 64 most recent, 72..198, are remembered,
  // and still empty within the same millisecond. (Newest first, so no lookup evicts another.)
  const auto at = kStart + 49ms;
  int remembered = 0;
  for (int source = 198; source >= 0; source -= 2) {
    remembered += budget.take(key(static_cast<uint32_t>(source) * 7919U), at) ? 0 : 1;
  }
  EXPECT_EQ(remembered, 64);
}

}  // namespace
