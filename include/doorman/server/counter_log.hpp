#pragma once
// The counters as the log tells them: the summary text of the `counters:` and `stopped:` lines,
// and the same counters as the numbers of their JSON lines, named as in /status.json.

#include <array>
#include <cstddef>
#include <string>

#include "doorman/server/counters.hpp"
#include "doorman/server/log_line.hpp"

namespace doorman::server {

// `3 accepted, 1 welcomed, 1 rejected, 1 timed out, 0 refused, 0 errors` (rejected counts the
// empty requests too, as it always has in these lines).
std::string tally(const CounterValues& total);

// The counters, then "open" (the connections open now) as the last one.
inline constexpr size_t kCounterKeys = 11;
using CounterCounts = std::array<LogCount, kCounterKeys + 1>;
CounterCounts counter_counts(const CounterValues& total, size_t open);

}  // namespace doorman::server
