// doorman-bench: the load generator for the tutorial's protocol (B8). Many clients connect,
// send the message and read the reply until the server closes; the report goes to stdout.
// Options -> Config -> run -> report, then judge() gives the exit status.

#include <sysexits.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "doorman/bench/command_line.hpp"
#include "doorman/bench/generator.hpp"
#include "doorman/bench/verdict.hpp"
#include "doorman/cli/options.hpp"

int main(int argc, char** argv) {
  using namespace doorman;
  CLI::App app{
      "Load generator for the doorman protocol: clients connect, send the message and "
      "check the reply; the result has connections/s, latency percentiles and errors.",
      "doorman-bench"};
  app.footer(
      "Exit status: 0 the run completed (errors are in the report); 64 a bad option; 69 every\n"
      "connect was refused; 1 more errors than --max-errors; 130 or 143 (128 + the signal) cut\n"
      "short by SIGINT or SIGTERM; 71 a system error; 74 cannot write to stdout.");
  bench::CommandLine line;
  bench::define_options(app, line);

  return options::run(app, argc, argv, [&]() -> Result<void, Failure> {
    auto config = bench::finish(app, line);
    if (!config) return usage_failure(config.error());
    auto report = bench::run(*config);
    if (!report) return std::move(report).error();
    const std::string text =
        line.json ? bench::format_json(*report) + "\n" : bench::format_text(*report);
    if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout)) {
      return Failure{EX_IOERR, std::string("write to stdout: ") + std::strerror(errno)};
    }
    const bench::Verdict verdict = bench::judge(*report, config->max_errors);
    if (verdict.status != EX_OK) return Failure{verdict.status, verdict.message};
    return {};
  });
}
