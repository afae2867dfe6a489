#pragma once
// ProcessStats: the standard process metrics of Prometheus' client libraries, read from
// /proc/self. Any thread.

#include <cstdint>

namespace doorman::server {

struct ProcessStats {
  uint64_t open_fds = 0;
  uint64_t max_fds = 0;
  uint64_t resident_memory_bytes = 0;
  uint64_t virtual_memory_bytes = 0;
  double cpu_seconds = 0;
  double start_time_seconds = 0;  // since the Unix epoch
};

// What cannot be read stays 0: a scrape never fails for it.
ProcessStats read_process_stats();

}  // namespace doorman::server
