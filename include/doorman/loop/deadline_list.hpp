#pragma once
// DeadlineList: the slots waiting for something, in deadline order. Loop thread only.
//
// Every entry of one list waits the same length of time (the request timeout, or the linger
// timeout), so appending keeps the list sorted: insert, remove and expire are O(1), with no heap
// and no timer wheel. The list is intrusive: its links live in the caller's slots (one per
// descriptor, indexed by it), so an entry costs no allocation and no memory of the list's own.
// Several lists may share one DeadlineLink member when a slot is in at most one of them at a
// time (its state says which); a list with a member of its own can also answer contains().

#include <cassert>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace doorman::loop {

using Clock = std::chrono::steady_clock;

struct DeadlineLink {
  static constexpr int32_t kNone = -1;
  static constexpr int32_t kUnlinked = -2;  // in no list: `previous` says so

  Clock::time_point deadline{};
  int32_t previous = kUnlinked;
  int32_t next = kNone;

  bool linked() const noexcept { return previous != kUnlinked; }
};
static_assert(sizeof(DeadlineLink) == 16);

// Ids index `slots`, which may grow (never shrink) while the list lives; `Link` is the member
// that holds this list's links.
template <typename Slot, DeadlineLink Slot::*Link = &Slot::link>
class DeadlineList {
 public:
  static constexpr int kNone = DeadlineLink::kNone;

  explicit DeadlineList(std::vector<Slot>& slots) noexcept : slots_(slots) {}

  // `id` must index a slot that is in no list, and its deadline must not be earlier than the
  // last one's.
  void push_back(int id, Clock::time_point deadline) noexcept {
    DeadlineLink& link = link_of(id);
    assert(!link.linked());
    assert(empty() || deadline >= link_of(tail_).deadline);
    link = DeadlineLink{deadline, tail_, kNone};
    if (tail_ != kNone) {
      link_of(tail_).next = id;
    } else {
      head_ = id;
    }
    tail_ = id;
    ++size_;
  }

  // Does nothing for a slot in no list; a linked one must be in this list.
  void remove(int id) noexcept {
    if (id < 0 || static_cast<size_t>(id) >= slots_.size()) return;
    DeadlineLink& link = link_of(id);
    if (!link.linked()) return;
    if (link.previous != kNone) {
      link_of(link.previous).next = link.next;
    } else {
      head_ = link.next;
    }
    if (link.next != kNone) {
      link_of(link.next).previous = link.previous;
    } else {
      tail_ = link.previous;
    }
    link = DeadlineLink{};
    --size_;
  }

  // Unlinks every entry.
  void clear() noexcept {
    while (!empty())
      remove(head_);
  }

  // Whether the slot is linked through this list's member: this list, when no other shares it.
  bool contains(int id) const noexcept {
    return id >= 0 && static_cast<size_t>(id) < slots_.size() && link_of(id).linked();
  }
  bool empty() const noexcept { return head_ == kNone; }
  int front() const noexcept { return head_; }
  Clock::time_point front_deadline() const noexcept {
    return empty() ? Clock::time_point::max() : link_of(head_).deadline;
  }
  size_t size() const noexcept { return size_; }

 private:
  DeadlineLink& link_of(int id) const noexcept {
    assert(id >= 0 && static_cast<size_t>(id) < slots_.size());
    return slots_[static_cast<size_t>(id)].*Link;
  }

  std::vector<Slot>& slots_;
  int head_ = kNone;
  int tail_ = kNone;
  size_t size_ = 0;
};

}  // namespace doorman::loop
