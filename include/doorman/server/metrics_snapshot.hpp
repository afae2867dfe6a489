#pragma once
// MetricsSnapshot: the server's counters, added up over its workers at one moment, with the
// process's own figures: what /metrics and /status.json print (B7). Metrics thread.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "doorman/net/address.hpp"
#include "doorman/server/counters.hpp"
#include "doorman/server/process_stats.hpp"
#include "doorman/server/wait_histogram.hpp"

namespace doorman::server {

struct MetricsSnapshot {
  SocketType type = SocketType::stream;
  CounterValues total;
  std::vector<uint64_t> accepted_per_worker;  // stream: connections; datagram: datagrams
  WaitHistogramValues request_wait;
  size_t active = 0;
  size_t limit = 0;  // --max-connections as applied
  double uptime_seconds = 0;
  double timestamp_seconds = 0;  // since the Unix epoch
  ProcessStats process;
};

}  // namespace doorman::server
