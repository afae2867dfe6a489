#include "doorman/server/counter_log.hpp"

#include <fmt/format.h>

namespace doorman::server {

std::string tally(const CounterValues& total) {
  return fmt::format("{} accepted, {} welcomed, {} rejected, {} timed out, {} refused, {} errors",
                     total.accepted, total.welcomed, total.rejected + total.empty, total.timed_out,
                     total.refused_over_limit + total.refused_no_descriptors, total.errors);
}

CounterCounts counter_counts(const CounterValues& total, size_t open) {
  return {{{"accepted", total.accepted},
           {"welcomed", total.welcomed},
           {"rejected", total.rejected},
           {"empty", total.empty},
           {"timed_out", total.timed_out},
           {"refused", total.refused_over_limit + total.refused_no_descriptors},
           {"errors", total.errors},
           {"dropped_loop", total.dropped_loop},
           {"dropped_over_rate", total.dropped_over_rate},
           {"dropped_unbound_sender", total.dropped_unbound_sender},
           {"bad_proxy_header", total.bad_proxy_header},
           {"open", open}}};
}

}  // namespace doorman::server
