#include "doorman/bench/histogram.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

using doorman::bench::Histogram;
using namespace std::chrono_literals;

namespace {

using ns = std::chrono::nanoseconds;

// The nearest-rank percentile of sorted values: what the histogram approximates.
ns exact(const std::vector<ns>& sorted, double p) {
  const auto rank = static_cast<size_t>(std::ceil(p / 100 * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

void expect_close(ns got, ns want, double p) {
  const double error = std::abs(static_cast<double>(got.count() - want.count()));
  EXPECT_LE(error, static_cast<double>(want.count()) * Histogram::kRelativeError)
      << "p" << p << ": got " << got.count() << " ns, want " << want.count() << " ns";
}

void check_percentiles(std::vector<ns> values) {
  Histogram histogram;
  for (ns value : values)
    histogram.record(value);
  std::sort(values.begin(), values.end());
  for (double p : {0.0, 1.0, 10.0, 50.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
    expect_close(histogram.percentile(p), exact(values, p), p);
  }
  EXPECT_EQ(histogram.count(), values.size());
  EXPECT_EQ(histogram.min(), values.front());
  EXPECT_EQ(histogram.max(), values.back());
}

TEST(Histogram, PromisesAtMostOnePercent) {
  EXPECT_LE(Histogram::kRelativeError, 0.01);
}

TEST(Histogram, EmptyReportsZero) {
  Histogram histogram;
  EXPECT_EQ(histogram.count(), 0u);
  EXPECT_EQ(histogram.percentile(50), 0ns);
  EXPECT_EQ(histogram.max(), 0ns);
  EXPECT_EQ(histogram.min(), 0ns);
  EXPECT_EQ(histogram.mean(), 0ns);
}

TEST(Histogram, IsExactBelow256Nanoseconds) {
  Histogram histogram;
  for (int i = 0; i < 256; ++i)
    histogram.record(ns(i));
  EXPECT_EQ(histogram.percentile(50), 127ns);
  EXPECT_EQ(histogram.percentile(1), 2ns);
  EXPECT_EQ(histogram.percentile(100), 255ns);
}

TEST(Histogram, UniformMicrosecondsToATenthOfASecond) {
  std::vector<ns> values;
  for (int us = 1; us <= 100'000; ++us)
    values.push_back(std::chrono::microseconds(us));
  check_percentiles(values);
}

TEST(Histogram, LogUniformFromOneMicrosecondToOneHundredSeconds) {
  std::mt19937_64 random(42);
  std::uniform_real_distribution<double> exponent(3, 11);  // 10^3 ns .. 10^11 ns
  std::vector<ns> values;
  for (int i = 0; i < 200'000; ++i) {
    values.push_back(ns(static_cast<int64_t>(std::pow(10.0, exponent(random)))));
  }
  check_percentiles(values);
}

TEST(Histogram, ExponentialLatenciesAroundAMillisecond) {
  std::mt19937_64 random(7);
  std::exponential_distribution<double> latency(1.0 / 1e6);  // mean 1 ms, in ns
  std::vector<ns> values;
  for (int i = 0; i < 100'000; ++i) {
    values.push_back(ns(20'000 + static_cast<int64_t>(latency(random))));
  }
  check_percentiles(values);
}

TEST(Histogram, MergeEqualsRecordingEverythingInOne) {
  Histogram all, first, second;
  for (int i = 1; i <= 1000; ++i) {
    const auto value = std::chrono::microseconds(i * 37 % 1009);
    all.record(value);
    (i % 3 == 0 ? first : second).record(value);
  }
  first.merge(second);
  EXPECT_EQ(first.count(), all.count());
  EXPECT_EQ(first.min(), all.min());
  EXPECT_EQ(first.max(), all.max());
  EXPECT_EQ(first.mean(), all.mean());
  for (double p : {50.0, 90.0, 99.0, 99.9})
    EXPECT_EQ(first.percentile(p), all.percentile(p));
}

TEST(Histogram, MergingAnEmptyOneChangesNothing) {
  Histogram histogram, empty;
  histogram.record(5ms);
  histogram.merge(empty);
  EXPECT_EQ(histogram.count(), 1u);
  EXPECT_EQ(histogram.min(), 5ms);
}

TEST(Histogram, KeepsTheExactMaximumBeyondItsRange) {
  Histogram histogram;
  histogram.record(1ms);
  histogram.record(200s);
  EXPECT_EQ(histogram.max(), 200s);
  EXPECT_EQ(histogram.percentile(100), 200s);
  expect_close(histogram.percentile(50), 1ms, 50);
}

TEST(Histogram, CountsANegativeValueAsZero) {
  Histogram histogram;
  histogram.record(ns(-5));
  EXPECT_EQ(histogram.count(), 1u);
  EXPECT_EQ(histogram.max(), 0ns);
}

TEST(Histogram, MeanIsExact) {
  Histogram histogram;
  histogram.record(1ms);
  histogram.record(2ms);
  histogram.record(6ms);
  EXPECT_EQ(histogram.mean(), 3ms);
}

}  // namespace
