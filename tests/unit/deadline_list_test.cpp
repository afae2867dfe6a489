#include "doorman/loop/deadline_list.hpp"

#include <gtest/gtest.h>

#include <vector>

using doorman::loop::Clock;
using doorman::loop::DeadlineLink;
using namespace std::chrono_literals;

namespace {

struct Slot {
  DeadlineLink link;
};
using DeadlineList = doorman::loop::DeadlineList<Slot>;

std::vector<int> drain(DeadlineList& list) {
  std::vector<int> order;
  while (!list.empty()) {
    order.push_back(list.front());
    list.remove(list.front());
  }
  return order;
}

TEST(DeadlineList, StartsEmpty) {
  std::vector<Slot> slots(8);
  DeadlineList list(slots);
  EXPECT_TRUE(list.empty());
  EXPECT_EQ(list.front(), DeadlineList::kNone);
  EXPECT_EQ(list.front_deadline(), Clock::time_point::max());
}

TEST(DeadlineList, KeepsInsertionOrderWhichIsDeadlineOrder) {
  std::vector<Slot> slots(16);
  DeadlineList list(slots);
  const auto t0 = Clock::now();
  list.push_back(7, t0 + 1s);
  list.push_back(3, t0 + 2s);
  list.push_back(12, t0 + 2s);  // a tie stays FIFO
  EXPECT_EQ(list.front_deadline(), t0 + 1s);
  EXPECT_EQ(list.size(), 3u);
  EXPECT_EQ(drain(list), (std::vector<int>{7, 3, 12}));
}

TEST(DeadlineList, RemovesFromTheMiddleHeadAndTail) {
  std::vector<Slot> slots(8);
  DeadlineList list(slots);
  const auto t0 = Clock::now();
  for (int id : {1, 2, 3, 4, 5})
    list.push_back(id, t0 + id * 1ms);
  list.remove(3);
  list.remove(1);
  list.remove(5);
  EXPECT_FALSE(slots[3].link.linked());
  EXPECT_TRUE(slots[2].link.linked());
  EXPECT_EQ(list.front_deadline(), t0 + 2ms);
  EXPECT_EQ(drain(list), (std::vector<int>{2, 4}));
}

TEST(DeadlineList, ASlotKnowsWhetherItIsListed) {
  std::vector<Slot> slots(4);
  DeadlineList list(slots);
  EXPECT_FALSE(slots[1].link.linked());
  list.push_back(1, Clock::now());
  EXPECT_TRUE(slots[1].link.linked());
  list.remove(1);
  EXPECT_FALSE(slots[1].link.linked());
  EXPECT_TRUE(list.empty());
}

TEST(DeadlineList, AnIdCanComeBackAfterRemoval) {
  std::vector<Slot> slots(16);
  DeadlineList list(slots);
  const auto t0 = Clock::now();
  list.push_back(4, t0);
  list.push_back(9, t0 + 1ms);
  list.remove(4);
  list.push_back(4, t0 + 2ms);
  EXPECT_EQ(drain(list), (std::vector<int>{9, 4}));
}

TEST(DeadlineList, TwoListsShareTheSlotsOfOneTable) {
  std::vector<Slot> slots(8);
  DeadlineList requests(slots);
  DeadlineList lingering(slots);
  const auto t0 = Clock::now();
  requests.push_back(1, t0);
  lingering.push_back(2, t0);
  requests.push_back(3, t0 + 1ms);
  EXPECT_EQ(drain(requests), (std::vector<int>{1, 3}));
  EXPECT_EQ(drain(lingering), (std::vector<int>{2}));
}

TEST(DeadlineList, TheSlotsMayGrowWhileListed) {
  std::vector<Slot> slots(8);
  DeadlineList list(slots);
  list.push_back(5, Clock::now());
  slots.resize(200'000);  // moves every slot: the list keeps ids, not pointers
  list.push_back(100'000, Clock::now());
  EXPECT_EQ(drain(list), (std::vector<int>{5, 100'000}));
}

}  // namespace
