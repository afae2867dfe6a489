#pragma once
// WaitHistogram: how long connections waited from their accept to their request (B7), in fixed
// buckets. Written by one worker thread only, read by any thread with relaxed loads (a reader
// may see a count a few events ahead of the sum, never a torn value).

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace doorman::server {

// Upper bounds of the buckets, in microseconds (Prometheus' `le`); one more bucket is +Inf.
inline constexpr std::array<uint64_t, 13> kWaitBucketsMicros = {
    500,     1'000,   2'500,   5'000,     10'000,    25'000,   50'000,
    100'000, 250'000, 500'000, 1'000'000, 2'500'000, 5'000'000};

// Read at one moment: per-bucket counts (not cumulative), the last one +Inf.
struct WaitHistogramValues {
  std::array<uint64_t, kWaitBucketsMicros.size() + 1> buckets{};
  uint64_t sum_nanos = 0;
  uint64_t count = 0;

  WaitHistogramValues& operator+=(const WaitHistogramValues& other) noexcept {
    for (size_t index = 0; index < buckets.size(); ++index)
      buckets[index] += other.buckets[index];
    sum_nanos += other.sum_nanos;
    count += other.count;
    return *this;
  }
};

class WaitHistogram {
 public:
  // A request read in the turn that accepted its connection: no wait, and no clock read.
  void record_none() noexcept {
    bump(buckets_[0], 1);
    bump(count_, 1);
  }

  void record(std::chrono::nanoseconds wait) noexcept {
    const uint64_t nanos = wait.count() > 0 ? static_cast<uint64_t>(wait.count()) : 0;
    const uint64_t micros = nanos / 1000;
    size_t bucket = 0;
    while (bucket < kWaitBucketsMicros.size() && micros > kWaitBucketsMicros[bucket])
      ++bucket;
    bump(buckets_[bucket], 1);
    bump(sum_nanos_, nanos);
    bump(count_, 1);
  }

  WaitHistogramValues read() const noexcept {
    WaitHistogramValues values;
    for (size_t index = 0; index < buckets_.size(); ++index)
      values.buckets[index] = buckets_[index].load(std::memory_order_relaxed);
    values.sum_nanos = sum_nanos_.load(std::memory_order_relaxed);
    values.count = count_.load(std::memory_order_relaxed);
    return values;
  }

 private:
  // Single writer: a relaxed load and store, cheaper than fetch_add (as Counters::bump).
  static void bump(std::atomic<uint64_t>& value, uint64_t by) noexcept {
    value.store(value.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
  }

  std::array<std::atomic<uint64_t>, kWaitBucketsMicros.size() + 1> buckets_{};
  std::atomic<uint64_t> sum_nanos_{0};
  std::atomic<uint64_t> count_{0};
};

}  // namespace doorman::server
