#pragma once
// How a finished run ends for a script or a CI job: its exit status, and one line for stderr
// saying why when the status is not 0. Any thread.

#include <cstdint>
#include <optional>
#include <string>

#include "doorman/bench/report.hpp"

namespace doorman::bench {

// More errors than --max-errors: the run failed its check, as a test runner's failed tests do.
inline constexpr int kExitTooManyErrors = 1;

struct Verdict {
  int status = 0;
  std::string message;  // one line, empty when status is 0
};

// The first that holds: a signal ended the run (128 + its number, as a shell reports a process
// it killed); nothing got through and every connect was refused (69, EX_UNAVAILABLE); more errors
// than `max_errors` (1); else 0, errors or not: they are what the report is about.
Verdict judge(const Report& report, std::optional<uint64_t> max_errors);

}  // namespace doorman::bench
