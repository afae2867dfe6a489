#pragma once
// doorman-bench's command line: the options and the checks CLI11 cannot make on its own.
// Main thread.

#include <CLI/CLI.hpp>
#include <string>

#include "doorman/base/failure.hpp"
#include "doorman/base/result.hpp"
#include "doorman/bench/generator.hpp"

namespace doorman::bench {

struct CommandLine {
  Config config;
  // Parsed after CLI11 is done, so the errors can name the option.
  std::string connect;
  std::string sources;
  uint64_t count = kDefaultCount;
  Duration duration{};
  uint64_t max_errors = 0;
  bool json = false;
};

void define_options(CLI::App& app, CommandLine& line);

// The finished Config, or which option is wrong and why.
Result<Config, UsageError> finish(const CLI::App& app, const CommandLine& line);

}  // namespace doorman::bench
