#pragma once
// TimeoutLists: deadline lists for one kind of wait whose length may change while entries wait
// (a reload changes --timeout). Loop thread only.
//
// A DeadlineList stays sorted only because every entry in it waits the same length. When the
// length changes, the entries already waiting keep their deadline and new ones get the new
// length, so each length has a list of its own: entries are appended to the list of the
// current length, and the earliest deadline is the earliest of the lists' heads. Appending to
// a list of the same length later is always in order (now + T is past every accept + T), so a
// length that comes back reuses its list. Reloads are rare: with kLists lengths all still
// waiting, a new length waits until one list empties and new entries keep the old length until
// then.
//
// The worker asks for the earliest deadline on every loop turn, most often with nothing waiting
// (every client answered at once): a count of the entries answers that without looking at the
// lists.

#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "doorman/loop/deadline_list.hpp"

namespace doorman::loop {

// `Link` holds the links (shared with other lists as DeadlineList allows); `Which` is where the
// slot remembers which of the lists it is in.
template <typename Slot, DeadlineLink Slot::*Link, uint8_t Slot::*Which>
class TimeoutLists {
 public:
  static constexpr size_t kLists = 4;
  using List = DeadlineList<Slot, Link>;

  TimeoutLists(std::vector<Slot>& slots, Clock::duration timeout)
      : slots_(slots), lists_(make_lists(slots, std::make_index_sequence<kLists>())) {
    timeouts_.fill(timeout);
    wanted_ = timeout;
  }

  // New entries wait this long from now on (as soon as a list is free for it).
  void set_timeout(Clock::duration timeout) noexcept {
    wanted_ = timeout;
    adopt_wanted();
  }
  // What new entries wait once any older lengths have emptied.
  Clock::duration timeout() const noexcept { return wanted_; }

  // `id` must be in no list: it waits from `now` for the current length.
  void push_back(int id, Clock::time_point now) noexcept {
    if (timeouts_[current_] != wanted_) adopt_wanted();
    lists_[current_].push_back(id, now + timeouts_[current_]);
    slots_[static_cast<size_t>(id)].*Which = current_;
    ++size_;
  }
  // Does nothing for a slot in no list.
  void remove(int id) noexcept {
    if (id < 0 || static_cast<size_t>(id) >= slots_.size()) return;
    List& list = lists_[slots_[static_cast<size_t>(id)].*Which];
    const size_t before = list.size();
    list.remove(id);
    size_ -= before - list.size();
  }
  // How long the entry `id` was given: for log lines and the wait it has had.
  Clock::duration timeout_of(int id) const noexcept {
    return timeouts_[slots_[static_cast<size_t>(id)].*Which];
  }

  bool empty() const noexcept { return size_ == 0; }
  size_t size() const noexcept { return size_; }
  // The entry with the earliest deadline; DeadlineLink::kNone when empty.
  int front() const noexcept { return empty() ? List::kNone : lists_[earliest()].front(); }
  Clock::time_point front_deadline() const noexcept {
    return empty() ? Clock::time_point::max() : lists_[earliest()].front_deadline();
  }

 private:
  template <size_t... Index>
  static std::array<List, kLists> make_lists(std::vector<Slot>& slots,
                                             std::index_sequence<Index...>) {
    return {((void)Index, List(slots))...};
  }

  uint8_t earliest() const noexcept {
    uint8_t best = current_;
    for (uint8_t index = 0; index < kLists; ++index) {
      if (lists_[index].front_deadline() < lists_[best].front_deadline()) best = index;
    }
    return best;
  }

  void adopt_wanted() noexcept {
    if (timeouts_[current_] == wanted_) return;
    for (uint8_t index = 0; index < kLists; ++index) {
      if (timeouts_[index] == wanted_) {
        current_ = index;
        return;
      }
    }
    for (uint8_t index = 0; index < kLists; ++index) {
      if (lists_[index].empty()) {
        timeouts_[index] = wanted_;
        current_ = index;
        return;
      }
    }
  }

  std::vector<Slot>& slots_;
  std::array<List, kLists> lists_;
  std::array<Clock::duration, kLists> timeouts_{};
  Clock::duration wanted_{};
  size_t size_ = 0;  // entries in all the lists
  uint8_t current_ = 0;
};

}  // namespace doorman::loop
