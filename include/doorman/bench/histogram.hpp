#pragma once
// Histogram: latencies in log-linear buckets, in the manner of HdrHistogram. Thread of its owner;
// each generator thread fills its own and the results are merged afterwards.
//
// Below 256 ns every nanosecond has its own bucket; above, each power of two is split into 128
// equal buckets, so a bucket is never wider than 1/128 of its lower bound. A percentile is
// reported as its bucket's midpoint, which is within 1/256 (0.4 %) of every value in the bucket.
// Values from 0 to 2^37 ns (about 137 s) are tracked; longer ones count in the last bucket, and
// the exact maximum is kept apart.

#include <chrono>
#include <cstdint>
#include <vector>

namespace doorman::bench {

class Histogram {
 public:
  using Duration = std::chrono::nanoseconds;

  // The guaranteed bound on |reported - true| / true for any percentile within the range.
  static constexpr double kRelativeError = 1.0 / 256;
  static constexpr Duration kHighest{(int64_t{1} << 37) - 1};

  Histogram();

  // A negative value counts as 0.
  void record(Duration value) noexcept;
  void merge(const Histogram& other) noexcept;

  uint64_t count() const noexcept { return count_; }
  // Exact, not rounded to a bucket; 0 when empty.
  Duration min() const noexcept { return count_ == 0 ? Duration{} : Duration{min_}; }
  Duration max() const noexcept { return Duration{max_}; }
  Duration mean() const noexcept;

  // The value below or at which `p` percent of the recorded values lie (the nearest-rank
  // definition), p from 0 to 100; 0 when empty. percentile(100) is max().
  Duration percentile(double p) const noexcept;

 private:
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
  long double sum_ = 0;  // only for the mean: a double would lose nanoseconds past 2^53
};

}  // namespace doorman::bench
