#include "doorman/loop/deadline_list.hpp"

#include <algorithm>
#include <cassert>

namespace doorman::loop {

void DeadlineList::push_back(int id, Clock::time_point deadline) {
  assert(id >= 0 && !contains(id));
  assert(empty() || deadline >= links_[static_cast<size_t>(tail_)].deadline);
  if (static_cast<size_t>(id) >= links_.size()) {
    // Descriptors are dense from 0: grow to cover this one, with room for its neighbours.
    const auto wanted = static_cast<size_t>(id) + 1;
    links_.resize(std::max(wanted + wanted / 2, size_t{64}));
  }
  Link& link = links_[static_cast<size_t>(id)];
  link = Link{deadline, tail_, kNone};
  if (tail_ != kNone) {
    links_[static_cast<size_t>(tail_)].next = id;
  } else {
    head_ = id;
  }
  tail_ = id;
  ++size_;
}

void DeadlineList::remove(int id) noexcept {
  if (!contains(id)) return;
  Link& link = links_[static_cast<size_t>(id)];
  if (link.previous != kNone) {
    links_[static_cast<size_t>(link.previous)].next = link.next;
  } else {
    head_ = link.next;
  }
  if (link.next != kNone) {
    links_[static_cast<size_t>(link.next)].previous = link.previous;
  } else {
    tail_ = link.previous;
  }
  link = Link{};
  --size_;
}

bool DeadlineList::contains(int id) const noexcept {
  return id >= 0 && static_cast<size_t>(id) < links_.size() &&
         links_[static_cast<size_t>(id)].previous != kUnlinked;
}

Clock::time_point DeadlineList::front_deadline() const noexcept {
  return empty() ? Clock::time_point::max() : links_[static_cast<size_t>(head_)].deadline;
}

}  // namespace doorman::loop
