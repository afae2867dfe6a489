// TimeoutLists: a length that changes while entries wait (a reload of --timeout, B5) keeps the
// earliest deadline first and each entry's own deadline.

#include "doorman/loop/timeout_lists.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

namespace doorman::loop {
namespace {

using namespace std::chrono_literals;

struct Slot {
  DeadlineLink link;
  uint8_t list = 0;
};
using Lists = TimeoutLists<Slot, &Slot::link, &Slot::list>;

const Clock::time_point start{};

TEST(TimeoutLists, OneLengthIsOneSortedList) {
  std::vector<Slot> slots(8);
  Lists lists(slots, 5s);
  lists.push_back(3, start);
  lists.push_back(1, start + 1s);
  EXPECT_EQ(lists.front(), 3);
  EXPECT_EQ(lists.front_deadline(), start + 5s);
  EXPECT_EQ(lists.timeout_of(1), 5s);
  lists.remove(3);
  EXPECT_EQ(lists.front(), 1);
  EXPECT_EQ(lists.size(), 1U);
}

// The count that answers empty() and front_deadline() without looking at the lists: removing a
// slot that is in no list, or twice, must not change it.
TEST(TimeoutLists, RemovingASlotInNoListLeavesTheCountAlone) {
  std::vector<Slot> slots(8);
  Lists lists(slots, 5s);
  lists.push_back(2, start);
  lists.set_timeout(2s);
  lists.push_back(4, start + 1s);
  lists.remove(6);  // never listed
  lists.remove(-1);
  EXPECT_EQ(lists.size(), 2U);
  lists.remove(4);
  lists.remove(4);
  EXPECT_EQ(lists.size(), 1U);
  EXPECT_FALSE(lists.empty());
  EXPECT_EQ(lists.front(), 2);
  lists.remove(2);
  EXPECT_TRUE(lists.empty());
  EXPECT_EQ(lists.front(), DeadlineLink::kNone);
  EXPECT_EQ(lists.front_deadline(), Clock::time_point::max());
}

TEST(TimeoutLists, AShorterTimeoutLetsNewEntriesExpireFirstAndOldOnesKeepTheirs) {
  std::vector<Slot> slots(8);
  Lists lists(slots, 5s);
  lists.push_back(1, start);  // due at 5s
  lists.set_timeout(2s);
  lists.push_back(2, start + 1s);  // due at 3s, before the first
  EXPECT_EQ(lists.timeout_of(1), 5s);
  EXPECT_EQ(lists.timeout_of(2), 2s);
  EXPECT_EQ(lists.front(), 2);
  EXPECT_EQ(lists.front_deadline(), start + 3s);
  lists.remove(2);
  EXPECT_EQ(lists.front(), 1);
  EXPECT_EQ(lists.front_deadline(), start + 5s);
  lists.remove(1);
  EXPECT_TRUE(lists.empty());
  EXPECT_EQ(lists.front_deadline(), Clock::time_point::max());
}

TEST(TimeoutLists, ALengthThatComesBackAppendsToItsOwnList) {
  std::vector<Slot> slots(8);
  Lists lists(slots, 5s);
  lists.push_back(1, start);
  lists.set_timeout(2s);
  lists.push_back(2, start + 1s);
  lists.set_timeout(5s);
  lists.push_back(3, start + 2s);  // due at 7s, after 1's 5s in the same list
  EXPECT_EQ(lists.timeout_of(3), 5s);
  lists.remove(2);
  EXPECT_EQ(lists.front(), 1);
  lists.remove(1);
  EXPECT_EQ(lists.front(), 3);
}

TEST(TimeoutLists, MoreLengthsThanListsWaitForOneToEmpty) {
  std::vector<Slot> slots(16);
  Lists lists(slots, 10s);
  for (int id = 0; id < static_cast<int>(Lists::kLists); ++id) {
    lists.set_timeout(std::chrono::seconds(10 - id));
    lists.push_back(id, start);
  }
  lists.set_timeout(1s);  // every list is busy with another length
  lists.push_back(9, start);
  EXPECT_EQ(lists.timeout_of(9), std::chrono::seconds(10 - int{Lists::kLists} + 1));
  lists.remove(0);  // the 10s list empties
  lists.push_back(10, start);
  EXPECT_EQ(lists.timeout_of(10), 1s);
  EXPECT_EQ(lists.front(), 10);
}

}  // namespace
}  // namespace doorman::loop
