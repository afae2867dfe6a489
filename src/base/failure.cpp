#include "doorman/base/failure.hpp"

#include <sysexits.h>

#include <cstdio>

namespace doorman {

Failure usage_failure(const UsageError& error) {
  if (error.option.empty()) return Failure{EX_USAGE, error.reason};
  return Failure{EX_USAGE, error.option + ": " + error.reason};
}

Failure system_failure(const Error& error) {
  return Failure{EX_OSERR, error.message()};
}

int report_failure(std::string_view program, const Failure& failure) {
  std::fprintf(stderr, "%.*s: %s\n", static_cast<int>(program.size()), program.data(),
               failure.message.c_str());
  return failure.exit_status;
}

}  // namespace doorman
