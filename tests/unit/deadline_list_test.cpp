#include "doorman/loop/deadline_list.hpp"

#include <gtest/gtest.h>

#include <vector>

using doorman::loop::Clock;
using doorman::loop::DeadlineList;
using namespace std::chrono_literals;

namespace {

std::vector<int> drain(DeadlineList& list) {
  std::vector<int> order;
  while (!list.empty()) {
    order.push_back(list.front());
    list.remove(list.front());
  }
  return order;
}

TEST(DeadlineList, StartsEmpty) {
  DeadlineList list;
  EXPECT_TRUE(list.empty());
  EXPECT_EQ(list.front(), DeadlineList::kNone);
  EXPECT_EQ(list.front_deadline(), Clock::time_point::max());
}

TEST(DeadlineList, KeepsInsertionOrderWhichIsDeadlineOrder) {
  DeadlineList list;
  const auto t0 = Clock::now();
  list.push_back(7, t0 + 1s);
  list.push_back(3, t0 + 2s);
  list.push_back(12, t0 + 2s);  // a tie stays FIFO
  EXPECT_EQ(list.front_deadline(), t0 + 1s);
  EXPECT_EQ(list.size(), 3u);
  EXPECT_EQ(drain(list), (std::vector<int>{7, 3, 12}));
}

TEST(DeadlineList, RemovesFromTheMiddleHeadAndTail) {
  DeadlineList list;
  const auto t0 = Clock::now();
  for (int id : {1, 2, 3, 4, 5})
    list.push_back(id, t0 + id * 1ms);
  list.remove(3);
  list.remove(1);
  list.remove(5);
  EXPECT_FALSE(list.contains(3));
  EXPECT_TRUE(list.contains(2));
  EXPECT_EQ(list.front_deadline(), t0 + 2ms);
  EXPECT_EQ(drain(list), (std::vector<int>{2, 4}));
}

TEST(DeadlineList, RemovingAnAbsentIdDoesNothing) {
  DeadlineList list;
  list.remove(42);
  list.push_back(1, Clock::now());
  list.remove(42);
  list.remove(-1);
  EXPECT_EQ(list.size(), 1u);
}

TEST(DeadlineList, AnIdCanComeBackAfterRemoval) {
  DeadlineList list;
  const auto t0 = Clock::now();
  list.push_back(4, t0);
  list.push_back(9, t0 + 1ms);
  list.remove(4);
  list.push_back(4, t0 + 2ms);
  EXPECT_EQ(drain(list), (std::vector<int>{9, 4}));
}

TEST(DeadlineList, GrowsForLargeIds) {
  DeadlineList list;
  list.push_back(100000, Clock::now());
  list.push_back(5, Clock::now());
  EXPECT_EQ(drain(list), (std::vector<int>{100000, 5}));
}

}  // namespace
