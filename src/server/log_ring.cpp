#include "doorman/server/log_ring.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

namespace doorman::server {

LogRing::LogRing(size_t capacity)
    : slots_(new Slot[std::bit_ceil(std::max<size_t>(capacity, 2))]),
      mask_(std::bit_ceil(std::max<size_t>(capacity, 2)) - 1) {
  // A slot is free for the producer of position p when its sequence is p, and holds a line for
  // the consumer when it is p + 1.
  for (size_t i = 0; i <= mask_; ++i)
    slots_[i].sequence.store(i, std::memory_order_relaxed);
}

bool LogRing::push(std::string_view line) noexcept {
  if (line.empty()) return true;  // front() tells "nothing ready" by an empty view
  uint64_t position = tail_.load(std::memory_order_relaxed);
  Slot* slot = nullptr;
  for (;;) {
    slot = &slots_[position & mask_];
    const uint64_t sequence = slot->sequence.load(std::memory_order_acquire);
    const auto lag = static_cast<int64_t>(sequence - position);
    if (lag == 0) {
      if (tail_.compare_exchange_weak(position, position + 1, std::memory_order_relaxed)) break;
    } else if (lag < 0) {
      // The slot still holds the line of the previous lap: the ring is full.
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return false;
    } else {
      position = tail_.load(std::memory_order_relaxed);  // another producer took it
    }
  }
  slot->length = std::min(line.size(), kLineBytes);
  std::memcpy(slot->text, line.data(), slot->length);
  slot->sequence.store(position + 1, std::memory_order_release);
  return true;
}

std::string_view LogRing::front() const noexcept {
  const Slot& slot = slots_[head_ & mask_];
  if (slot.sequence.load(std::memory_order_acquire) != head_ + 1) return {};
  return {slot.text, slot.length};
}

void LogRing::pop() noexcept {
  slots_[head_ & mask_].sequence.store(head_ + mask_ + 1, std::memory_order_release);
  ++head_;
}

}  // namespace doorman::server
