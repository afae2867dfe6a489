// doorman-bench: the load generator for the tutorial's protocol (SPEC B8). Many clients connect,
// send the message and read the reply until the server closes; the report goes to stdout.
// Options -> Config -> run -> report, then judge() gives the exit status.

#include <cstdio>
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
  bench::CommandLine line;
  bench::define_options(app, line);

  return options::run(app, argc, argv, [&] {
    auto config = bench::finish(app, line);
    if (!config) {
      const auto& error = config.error();
      std::fprintf(stderr, "doorman-bench: %s%s%s\n", error.option.c_str(),
                   error.option.empty() ? "" : ": ", error.reason.c_str());
      return EX_USAGE;
    }
    auto report = bench::run(*config);
    if (!report) {
      std::fprintf(stderr, "doorman-bench: %s\n", report.error().message.c_str());
      return bench::exit_status(report.error().failure);
    }
    const std::string text =
        line.json ? bench::format_json(*report) + "\n" : bench::format_text(*report);
    if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout)) {
      std::perror("doorman-bench: write to stdout");
      return EX_IOERR;
    }
    const bench::Verdict verdict = bench::judge(*report, config->max_errors);
    if (verdict.status != EX_OK)
      std::fprintf(stderr, "doorman-bench: %s\n", verdict.message.c_str());
    return verdict.status;
  });
}
