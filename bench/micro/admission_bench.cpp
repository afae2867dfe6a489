// The shared admission counter: per connection, the acceptor loads `limit` and adds one to
// `active`, and the close takes the one back. With several workers the line `active` lives on
// moves between their cores at each of these; these cases give its price per connection, one
// worker alone and two at once, with `limit` on the line of `active` (as it was) and on a line
// of its own (Admission as it is).

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstddef>

#include "doorman/server/acceptor.hpp"

namespace {

// The layout before `limit` got a cache line of its own.
struct SharedLineAdmission {
  std::atomic<size_t> active{0};
  std::atomic<size_t> limit{0};
};

template <typename Counter>
Counter& shared_counter() {
  static Counter counter;
  counter.limit.store(~size_t{0} >> 1, std::memory_order_relaxed);
  return counter;
}

// One connection's admission and release, as Acceptor::accept_batch and Acceptor::closed do.
template <typename Counter>
void admit_and_release(benchmark::State& state) {
  Counter& admission = shared_counter<Counter>();
  for (auto _ : state) {
    const size_t limit = admission.limit.load(std::memory_order_relaxed);
    if (admission.active.fetch_add(1, std::memory_order_relaxed) >= limit) {
      admission.active.fetch_sub(1, std::memory_order_relaxed);
    }
    benchmark::ClobberMemory();
    admission.active.fetch_sub(1, std::memory_order_relaxed);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(admit_and_release<SharedLineAdmission>)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(admit_and_release<doorman::server::Admission>)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace
