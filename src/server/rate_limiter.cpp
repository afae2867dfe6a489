#include "doorman/server/rate_limiter.hpp"

namespace doorman::server {

bool RateLimiter::window_open(int64_t start, Clock::time_point now) const noexcept {
  return start != kNever && now.time_since_epoch().count() - start < window_.count();
}

RateLimiter::Decision RateLimiter::admit(Clock::time_point now) noexcept {
  int64_t start = window_start_.load(std::memory_order_relaxed);
  // Of the threads that find the window over, the one whose swap succeeds opens the next one.
  if (!window_open(start, now) &&
      window_start_.compare_exchange_strong(start, now.time_since_epoch().count(),
                                            std::memory_order_relaxed)) {
    written_.store(1, std::memory_order_relaxed);
    return {true, held_back_.exchange(0, std::memory_order_relaxed)};
  }
  if (written_.fetch_add(1, std::memory_order_relaxed) < burst_) return {true, 0};
  held_back_.fetch_add(1, std::memory_order_relaxed);
  return {false, 0};
}

uint64_t RateLimiter::take_overdue(Clock::time_point now) noexcept {
  if (held_back_.load(std::memory_order_relaxed) == 0) return 0;
  if (window_open(window_start_.load(std::memory_order_relaxed), now)) return 0;
  return held_back_.exchange(0, std::memory_order_relaxed);
}

}  // namespace doorman::server
