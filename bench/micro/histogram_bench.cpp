// The load generator's latency histogram: one record() per measured connection.

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <vector>

#include "doorman/bench/histogram.hpp"

namespace {

using doorman::bench::Histogram;

// Latencies spread over the range a run sees, from 20 us to about 1 s, so the bucket lookup
// is not always the same branch.
void histogram_record(benchmark::State& state) {
  std::vector<Histogram::Duration> values;
  uint64_t x = 88172645463325252ULL;  // xorshift: the same values every run
  for (int i = 0; i < 4096; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    values.emplace_back(static_cast<int64_t>(20'000 + x % (int64_t{1} << 30)));
  }
  Histogram histogram;
  size_t next = 0;
  for (auto _ : state) {
    histogram.record(values[next]);
    next = (next + 1) & 4095;
  }
  benchmark::DoNotOptimize(histogram.count());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(histogram_record);

}  // namespace
