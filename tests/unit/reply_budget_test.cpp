#include "doorman/server/reply_budget.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <array>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

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

// How many of sources first..last (one try each, at `at`) the budget answers.
int allowed_each(ReplyBudget& budget, uint32_t first, uint32_t last, Clock::time_point at) {
  int count = 0;
  for (uint32_t source = first; source <= last; ++source)
    count += budget.take(key(source), at) ? 1 : 0;
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
  ReplyBudget budget(10, 2, 8);
  for (uint32_t source = 0; source < 100; ++source)
    budget.take(key(source), kStart);
  EXPECT_EQ(budget.size(), 8U);
  EXPECT_EQ(budget.capacity(), 8U);
  // Whole sets of ReplyBudget::kWays, a power of two of them.
  EXPECT_EQ(ReplyBudget(10, 2, 4).capacity(), ReplyBudget::kWays);
  EXPECT_EQ(ReplyBudget(10, 2, 5000).capacity(), 8192U);
  EXPECT_EQ(ReplyBudget(10, 2).capacity(), ReplyBudget::kDefaultCapacity);
}

// One set (capacity kWays): every source competes for the same entries.
TEST(ReplyBudget, AnIdleSourceMakesRoomAndABusyOneStays) {
  ReplyBudget budget(1, 1, ReplyBudget::kWays);
  for (uint32_t source = 1; source <= 8; ++source)
    ASSERT_TRUE(budget.take(key(source), kStart));
  for (uint32_t source = 1; source <= 7; ++source)
    ASSERT_TRUE(budget.take(key(source), kStart + 5s));
  // 8 has been idle longest: 9 takes its entry, a full bucket by now.
  EXPECT_TRUE(budget.take(key(9), kStart + 5s));
  EXPECT_FALSE(budget.take(key(9), kStart + 5s));
  for (uint32_t source = 1; source <= 7; ++source)
    EXPECT_FALSE(budget.take(key(source), kStart + 5s)) << source;  // remembered: empty
  // 8 was forgotten, but every entry is busy: it takes over an empty bucket, not a full one.
  EXPECT_FALSE(budget.take(key(8), kStart + 5s));
}

TEST(ReplyBudget, MoreSourcesThanRoomGetNoFreshBuckets) {
  // A flood from many (spoofed) addresses: each entry gives at most its burst, whoever holds
  // it, so the table as a whole gives at most capacity x burst at once.
  ReplyBudget budget(10, 10, ReplyBudget::kWays);
  EXPECT_EQ(allowed_each(budget, 1, 1000, kStart), 8 * 10);
  // A second later each entry has refilled by the rate, no more.
  EXPECT_EQ(allowed_each(budget, 1001, 2000, kStart + 1s), 8 * 10);
}

TEST(ReplyBudget, ANewcomerTakesOverAThrottledBucketAsItIs) {
  ReplyBudget budget(1, 1, ReplyBudget::kWays);
  for (uint32_t source = 1; source <= 8; ++source)
    ASSERT_TRUE(budget.take(key(source), kStart + source * 100ms));  // 1 is full again first
  // At 0.95 s every entry is still empty: 9 takes 1's and waits for it like 1 would have.
  EXPECT_FALSE(budget.take(key(9), kStart + 950ms));
  EXPECT_TRUE(budget.take(key(9), kStart + 1100ms));
  // 1, forgotten, comes back to 2's entry, empty until 1.2 s: no fresh bucket for it either.
  EXPECT_FALSE(budget.take(key(1), kStart + 1100ms));
  EXPECT_TRUE(budget.take(key(1), kStart + 1200ms));
}

TEST(ReplyBudget, StaysWithinItsCapacityUnderChurn) {
  ReplyBudget budget(1000, 1, 64);
  for (int round = 0; round < 50; ++round) {
    for (uint32_t source = 0; source < 200; source += 1 + static_cast<uint32_t>(round % 3)) {
      budget.take(key(source * 7919U), kStart + std::chrono::milliseconds(round));
    }
    ASSERT_LE(budget.size(), 64U);
  }
  EXPECT_EQ(budget.size(), 64U);
}

// Workers share one budget: whatever their number, one source gets the cap, not a cap each.
// Each thread runs its own clock over the same span (threads at different points of it see each
// other's charges as early or late: that may refuse a reply, never grant one).
TEST(ReplyBudget, ThreadsTogetherNeverExceedTheCapForOneSource) {
  constexpr unsigned kRate = 1000;
  constexpr int kSteps = 200'000;  // 1 us apart: 0.2 s
  for (const int threads : {2, 4}) {
    ReplyBudget budget(kRate, kRate);
    std::atomic<int> granted{0};
    std::vector<std::thread> workers;
    for (int thread = 0; thread < threads; ++thread) {
      workers.emplace_back([&budget, &granted] {
        int mine = 0;
        for (int step = 0; step < kSteps; ++step)
          mine += budget.take(key(1), kStart + std::chrono::microseconds(step)) ? 1 : 0;
        granted += mine;
      });
    }
    for (auto& worker : workers)
      worker.join();
    // The burst, and the rate over 0.2 s.
    const int cap = static_cast<int>(kRate) + static_cast<int>(kRate) * kSteps / 1'000'000;
    EXPECT_LE(granted.load(), cap) << threads << " threads";
    EXPECT_GE(granted.load(), cap * 9 / 10) << threads << " threads";
  }
}

TEST(ReplyBudget, ThreadsChurningATinyTableGiveNoSourceMoreThanItsCap) {
  // 40 sources over 16 entries from 4 threads: entries change hands all the time, and still
  // each source gets at most its own cap (a source evicted and back takes over a bucket no
  // fuller than its own was) — give or take the one reply of two threads claiming an entry for
  // the same new source at once.
  constexpr unsigned kRate = 100;
  constexpr uint32_t kSources = 40;
  constexpr int kSteps = 100'000;  // 10 us apart: 1 s
  ReplyBudget budget(kRate, kRate, 16);
  std::array<std::atomic<int>, kSources> granted{};
  std::vector<std::thread> workers;
  for (uint32_t thread = 0; thread < 4; ++thread) {
    workers.emplace_back([&budget, &granted, thread] {
      uint32_t state = thread * 2654435761U + 1;
      for (int step = 0; step < kSteps; ++step) {
        state = state * 1664525U + 1013904223U;
        const uint32_t source = (state >> 16) % kSources;
        if (budget.take(key(source), kStart + std::chrono::microseconds(10 * step))) {
          granted[source].fetch_add(1, std::memory_order_relaxed);
        }
      }
    });
  }
  for (auto& worker : workers)
    worker.join();
  const int cap = 2 * static_cast<int>(kRate);  // the burst, and the rate over 1 s
  int total = 0;
  for (uint32_t source = 0; source < kSources; ++source) {
    EXPECT_LE(granted[source].load(), cap + 4) << "source " << source;
    total += granted[source].load();
  }
  // No more than 16 entries' worth in all.
  EXPECT_LE(total, 16 * cap);
  EXPECT_GT(total, 0);
}

}  // namespace
