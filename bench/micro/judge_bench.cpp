// The password check (B10): constant time per length, so the right and the wrong request of one
// length should cost the same.

#include <benchmark/benchmark.h>

#include <string>

#include "doorman/proto/judge.hpp"

namespace {

void judge_request(benchmark::State& state, std::string request, std::string password) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(request);
    benchmark::DoNotOptimize(doorman::proto::judge(request, password));
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(request.size()));
}

const std::string kKiB(1024, 'x');
std::string kib_wrong_last() {
  std::string wrong = kKiB;
  wrong.back() = 'y';
  return wrong;
}

BENCHMARK_CAPTURE(judge_request, 1_byte_right, "1", "1");
BENCHMARK_CAPTURE(judge_request, 1_byte_wrong, "2", "1");
BENCHMARK_CAPTURE(judge_request, 1_KiB_right, kKiB, kKiB);
BENCHMARK_CAPTURE(judge_request, 1_KiB_wrong_last_byte, kib_wrong_last(), kKiB);
BENCHMARK_CAPTURE(judge_request, 1_KiB_wrong_first_byte, "y" + kKiB.substr(1), kKiB);
// The tutorial's password against a 1 KiB request: the length differs.
BENCHMARK_CAPTURE(judge_request, 1_KiB_vs_1_byte_password, kKiB, "1");

}  // namespace
