#pragma once
// Command-line plumbing shared by the three programs' mains: typed options that validate their
// value, and one place that turns a bad command line or a failed run into one line on stderr
// and its exit status. Main thread.

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "doorman/base/duration.hpp"
#include "doorman/base/failure.hpp"
#include "doorman/base/result.hpp"
#include "doorman/net/address.hpp"

namespace doorman::options {

// An option that takes a duration ("5s", "500ms"), shown with the target's value as default.
CLI::Option* add_duration(CLI::App& app, const std::string& name, Duration& target,
                          const std::string& description);

// --type stream|dgram.
CLI::Option* add_socket_type(CLI::App& app, SocketType& target);

// A whole number from `low` to `high`, checked before conversion so the message names the
// quantity: "backlog must be at least 1".
CLI::Validator whole_number(std::string what, long long low, long long high);

// Adds --version, parses, then runs `body`. --help and --version exit 0; a usage error exits
// 64 (EX_USAGE) with one line naming the option; a failed body is reported as its Failure.
int run(CLI::App& app, int argc, char** argv, const std::function<Result<void, Failure>()>& body);

}  // namespace doorman::options
