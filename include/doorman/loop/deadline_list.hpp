#pragma once
// DeadlineList: connections waiting for something, in deadline order. Loop thread only.
//
// Every entry of one list waits the same length of time (the request timeout, or the linger
// timeout), so appending keeps the list sorted: insert, remove and expire are O(1), with no heap
// and no timer wheel. Entries are small integer ids (descriptors): the links live in a vector
// indexed by id, so an entry costs no allocation.

#include <chrono>
#include <cstdint>
#include <vector>

namespace doorman::loop {

using Clock = std::chrono::steady_clock;

class DeadlineList {
 public:
  static constexpr int kNone = -1;

  // `id` must not be in the list. Its deadline must not be earlier than the last one's.
  void push_back(int id, Clock::time_point deadline);
  // Does nothing if `id` is not in the list.
  void remove(int id) noexcept;
  bool contains(int id) const noexcept;

  bool empty() const noexcept { return head_ == kNone; }
  int front() const noexcept { return head_; }
  Clock::time_point front_deadline() const noexcept;
  size_t size() const noexcept { return size_; }

 private:
  // 16 bytes an entry, and one entry per descriptor number per list of every worker: P4
  // counts them. An unlinked entry has previous == kUnlinked.
  static constexpr int32_t kUnlinked = -2;
  struct Link {
    Clock::time_point deadline{};
    int32_t previous = kUnlinked;
    int32_t next = kNone;
  };
  static_assert(sizeof(Link) == 16);
  std::vector<Link> links_;
  int head_ = kNone;
  int tail_ = kNone;
  size_t size_ = 0;
};

}  // namespace doorman::loop
