#include "doorman/bench/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace doorman::bench {
namespace {

constexpr unsigned kSubBits = 7;                        // 128 buckets per power of two
constexpr uint64_t kSubHalf = uint64_t{1} << kSubBits;  // 128
constexpr uint64_t kLinearLimit = kSubHalf * 2;         // below 256 ns: one bucket per value

// Bucket `shift` holds values whose top 8 bits select one of its 128 sub-buckets, so the index
// is one formula for every value: 128 * shift + (value >> shift), continuous from 0.
constexpr unsigned shift_of(uint64_t value) {
  const unsigned width = static_cast<unsigned>(std::bit_width(value));
  return width > kSubBits + 1 ? width - (kSubBits + 1) : 0;
}

constexpr size_t index_of(uint64_t value) {
  const unsigned shift = shift_of(value);
  return static_cast<size_t>(kSubHalf * shift + (value >> shift));
}

struct Bounds {
  uint64_t low;
  uint64_t high;  // exclusive
};

constexpr Bounds bounds_of(size_t index) {
  if (index < kLinearLimit) return {index, index + 1};
  const unsigned shift = static_cast<unsigned>(index / kSubHalf) - 1;
  const uint64_t sub = index - kSubHalf * shift;
  return {sub << shift, (sub + 1) << shift};
}

static_assert(index_of(255) == 255 && index_of(256) == 256 && index_of(511) == 383 &&
              index_of(512) == 384);
static_assert(bounds_of(383).low == 510 && bounds_of(383).high == 512);

const uint64_t kHighestValue = static_cast<uint64_t>(Histogram::kHighest.count());

}  // namespace

Histogram::Histogram() : counts_(index_of(kHighestValue) + 1, 0) {}

void Histogram::record(Duration value) noexcept {
  const uint64_t ns = value.count() < 0 ? 0 : static_cast<uint64_t>(value.count());
  ++counts_[index_of(std::min(ns, kHighestValue))];
  ++count_;
  min_ = std::min(min_, ns);
  max_ = std::max(max_, ns);
  sum_ += static_cast<long double>(ns);
}

void Histogram::merge(const Histogram& other) noexcept {
  for (size_t i = 0; i < counts_.size(); ++i)
    counts_[i] += other.counts_[i];
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

Histogram::Duration Histogram::mean() const noexcept {
  if (count_ == 0) return Duration{};
  return Duration{static_cast<int64_t>(std::llround(sum_ / static_cast<long double>(count_)))};
}

Histogram::Duration Histogram::percentile(double p) const noexcept {
  if (count_ == 0) return Duration{};
  // Nearest rank: the smallest value with at least p% of the values at or below it.
  const double wanted = std::ceil(std::clamp(p, 0.0, 100.0) / 100.0 * static_cast<double>(count_));
  const uint64_t rank = std::clamp<uint64_t>(static_cast<uint64_t>(wanted), 1, count_);
  if (rank == count_) return max();
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      const Bounds bucket = bounds_of(i);
      const uint64_t middle = bucket.low + (bucket.high - bucket.low - 1) / 2;
      // The exact extremes are known: a midpoint outside them would be a worse answer.
      return Duration{static_cast<int64_t>(std::clamp(middle, min_, max_))};
    }
  }
  return max();
}

}  // namespace doorman::bench
