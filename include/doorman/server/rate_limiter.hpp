#pragma once
// RateLimiter: one kind of repeated log line (time outs, refusals) written at most `burst`
// times per window; the others are counted and told as one "N more" line. Any thread,
// lock-free; under contention a window may let a line or two more through, never fewer.

#include <atomic>
#include <chrono>
#include <cstdint>

namespace doorman::server {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  explicit RateLimiter(Clock::duration window = std::chrono::seconds(1),
                       uint64_t burst = 1) noexcept
      : window_(window), burst_(burst) {}

  struct Decision {
    bool write;              // within the window's burst: write it
    uint64_t held_back = 0;  // lines held back in the windows before it: say "N more" first
  };
  // The time is passed in, so that tests run on a clock of their own.
  Decision admit(Clock::time_point now) noexcept;

  // The lines held back in a window that has ended with no new line to tell them before: the
  // log thread asks each second, so a flood that stops still gets its "N more" line. 0: none.
  uint64_t take_overdue(Clock::time_point now) noexcept;

 private:
  static constexpr int64_t kNever = INT64_MIN;

  bool window_open(int64_t start, Clock::time_point now) const noexcept;

  Clock::duration window_;
  uint64_t burst_;
  std::atomic<uint64_t> written_{0};           // lines written in the current window
  std::atomic<int64_t> window_start_{kNever};  // Clock ticks since its epoch
  std::atomic<uint64_t> held_back_{0};
};

}  // namespace doorman::server
