#include "doorman/bench/verdict.hpp"

#include <sysexits.h>

#include <csignal>

#include <fmt/format.h>

namespace doorman::bench {
namespace {

std::string signal_name(int signal) {
  switch (signal) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    default:
      return fmt::format("signal {}", signal);
  }
}

}  // namespace

Verdict judge(const Report& report, std::optional<uint64_t> max_errors) {
  if (report.stop_signal != 0) {
    return {128 + report.stop_signal,
            fmt::format("interrupted by {}: the report covers the run until then",
                        signal_name(report.stop_signal))};
  }
  if (unreachable(report)) {
    return {EX_UNAVAILABLE,
            fmt::format("cannot reach {}: every connect was refused", report.target)};
  }
  const uint64_t errors = total_errors(report);
  if (max_errors && errors > *max_errors) {
    return {kExitTooManyErrors,
            fmt::format("{} errors, more than --max-errors {}", errors, *max_errors)};
  }
  return {};
}

}  // namespace doorman::bench
