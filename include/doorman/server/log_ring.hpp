#pragma once
// LogRing: the bounded queue between the threads that log and the one that writes. Fixed-size
// slots of preformatted lines; push from any thread, pop from one consumer thread only.
//
// Why this design: a worker must never wait for anything when it logs. A mutex, even one held
// only for a pointer push, can be held by a thread the scheduler has just preempted, and then
// every worker that logs waits for it. Here a producer claims a slot with one compare-and-swap
// on the tail index and publishes it with a per-slot sequence number (Vyukov's bounded queue):
// no producer ever waits for another or for the consumer, and a full ring is seen at once (the
// line is dropped and counted). Fixed-size slots keep memory bounded and allocation-free: a
// line longer than a slot was already cut by format_log_line. One producer's lines keep their
// order, because it claims slots in increasing order and the consumer reads them in that order.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace doorman::server {

class LogRing {
 public:
  static constexpr size_t kLineBytes = 1024;

  // `capacity` lines, rounded up to a power of two.
  explicit LogRing(size_t capacity);

  // Any thread. Copies `line` (at most kLineBytes of it); false, and counted, when full.
  bool push(std::string_view line) noexcept;

  // Consumer thread only. The oldest published line, empty when none is ready; valid until
  // pop(). A slot claimed but not yet published by a preempted producer ends the view there:
  // lines after it wait until it is published.
  std::string_view front() const noexcept;
  void pop() noexcept;

  // Lines dropped because the ring was full, since the start. Any thread.
  uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }
  size_t capacity() const noexcept { return mask_ + 1; }

 private:
  struct Slot {
    std::atomic<uint64_t> sequence;
    size_t length;
    char text[kLineBytes];
  };

  std::unique_ptr<Slot[]> slots_;
  size_t mask_;
  // Apart, so that producers bumping the tail do not keep invalidating the consumer's line.
  alignas(64) std::atomic<uint64_t> tail_{0};
  alignas(64) uint64_t head_ = 0;
  std::atomic<uint64_t> dropped_{0};
};

}  // namespace doorman::server
