#pragma once
// How the three programs give up: one vocabulary, so that every main prints its failures the
// same way and every exit status comes from sysexits(3). Any thread.

#include <string>
#include <string_view>

#include "doorman/base/error.hpp"

namespace doorman {

// A program that cannot do its job: the status it exits with and the one line it prints.
struct Failure {
  int exit_status;      // from <sysexits.h>: EX_USAGE, EX_UNAVAILABLE, EX_OSERR, ...
  std::string message;  // one line, without the program's name
};

// A command line that cannot be run: which option is wrong and why. The option is empty when
// the fault lies between options ("--threads must not exceed --concurrency").
struct UsageError {
  std::string option;
  std::string reason;
};

// EX_USAGE with "OPTION: REASON", or only the reason when no single option is at fault.
Failure usage_failure(const UsageError& error);

// EX_OSERR with the error's line: the system failed the program, not its user or its peer.
Failure system_failure(const Error& error);

// Prints "PROGRAM: MESSAGE" on stderr and gives the status for main to return.
int report_failure(std::string_view program, const Failure& failure);

}  // namespace doorman
