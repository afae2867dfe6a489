// The connection deadlines (P1, P4): push_back, remove and expire of N entries in one
// DeadlineList, and the same through TimeoutLists, whose push_back also picks the current list.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "doorman/loop/deadline_list.hpp"
#include "doorman/loop/timeout_lists.hpp"

namespace {

using doorman::loop::Clock;
using doorman::loop::DeadlineLink;
using doorman::loop::DeadlineList;
using doorman::loop::TimeoutLists;

struct Slot {
  DeadlineLink link;
  uint8_t which = 0;
};

constexpr auto kTimeout = std::chrono::seconds(5);

// Every entry appended, then every other one removed (answered clients), then the rest expired
// from the front (timed-out clients): the list's whole cycle, per entry.
void deadline_list_cycle(benchmark::State& state) {
  const auto entries = static_cast<int>(state.range(0));
  std::vector<Slot> slots(static_cast<size_t>(entries));
  DeadlineList<Slot> list(slots);
  const auto now = Clock::now();
  for (auto _ : state) {
    for (int id = 0; id < entries; ++id)
      list.push_back(id, now + kTimeout);
    for (int id = 0; id < entries; id += 2)
      list.remove(id);
    while (!list.empty())
      list.remove(list.front());
    benchmark::DoNotOptimize(list.size());
  }
  state.SetItemsProcessed(state.iterations() * entries);
}
BENCHMARK(deadline_list_cycle)->Arg(1'000)->Arg(100'000);

void timeout_lists_cycle(benchmark::State& state) {
  const auto entries = static_cast<int>(state.range(0));
  std::vector<Slot> slots(static_cast<size_t>(entries));
  TimeoutLists<Slot, &Slot::link, &Slot::which> lists(slots, kTimeout);
  const auto now = Clock::now();
  for (auto _ : state) {
    for (int id = 0; id < entries; ++id)
      lists.push_back(id, now);
    for (int id = 0; id < entries; id += 2)
      lists.remove(id);
    while (!lists.empty())
      lists.remove(lists.front());
    benchmark::DoNotOptimize(lists.size());
  }
  state.SetItemsProcessed(state.iterations() * entries);
}
BENCHMARK(timeout_lists_cycle)->Arg(1'000)->Arg(100'000);

}  // namespace
